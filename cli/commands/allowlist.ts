import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { keyHint } from '../../shared/adapters/sigstore/bundles';
import type { Allowlist } from '../../shared/domain/allowlist';
import { AllowlistRejectedError } from '../../shared/domain/errors';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { CliFailure, type CliIo, readJson, readText } from '../io';

interface VerifyFlags {
  bundle?: string;
  key: string;
  minSequence?: string;
  now?: string;
}

export function registerAllowlist(program: Command, io: CliIo): void {
  const allowlist = program.command('allowlist').description('Work with signed allowlists');
  allowlist
    .command('verify')
    .description(
      'Verify an allowlist as enforcement does: signature over the exact bytes, schema, rollback, expiry',
    )
    .argument('<file>', 'allowlist.json')
    .option('--bundle <file>', 'sigstore bundle (default: <file>.sigstore.json)')
    .requiredOption('--key <pem>', 'public key file (allowlist.pub, SPKI PEM)')
    .option('--min-sequence <n>', 'reject a sequence lower than this (the last one you accepted)')
    .option('--now <iso>', 'check expiry at this time instead of now')
    .action((file: string, flags: VerifyFlags) => {
      const minSequence = integer(flags.minSequence, '--min-sequence');
      const now = flags.now ? new Date(flags.now) : new Date();
      if (Number.isNaN(now.getTime())) {
        throw new CliFailure(`--now ${flags.now} is not an ISO 8601 time`, 2);
      }
      const bundlePath = flags.bundle ?? `${file}.sigstore.json`;
      const publicKeyPem = readText(flags.key);
      const bytes = readBytes(file);
      const bundle = readJson(bundlePath);
      let verified: Allowlist;
      try {
        verified = verifyAllowlist(bytes, bundle, {
          publicKeyPem,
          now,
          ...(minSequence !== undefined && { minSequence }),
        });
      } catch (error) {
        if (error instanceof AllowlistRejectedError) {
          throw new CliFailure(`${file}: rejected (${error.reason}): ${error.message}`);
        }
        throw error;
      }
      io.out(summary(file, verified, publicKeyPem, now));
    });
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliFailure(`${flag} ${value} is not a whole number`, 2);
  return Number(value);
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function summary(file: string, allowlist: Allowlist, publicKeyPem: string, now: Date): string {
  const repositories = Object.values(allowlist.images);
  const entries = repositories.flatMap((r) => Object.values(r));
  const warn = entries.filter((e) => e.verdict === 'WARN').length;
  const left = Date.parse(allowlist.validUntil) - now.getTime();
  return [
    `${file}: valid, sequence ${allowlist.sequence}, signed by key ${keyHint(publicKeyPem).slice(0, 16)}`,
    `  generated ${allowlist.generatedAt}, valid until ${allowlist.validUntil} (${hours(left)} left)`,
    `  ${entries.length} digests (${entries.length - warn} PASS, ${warn} WARN) in ${repositories.length} repositories`,
    `  policy ${allowlist.policyHash}`,
  ].join('\n');
}

function hours(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
