import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { keyHint } from '../../shared/adapters/sigstore/bundles';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import type { Allowlist } from '../../shared/domain/allowlist';
import { AllowlistRejectedError } from '../../shared/domain/errors';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { CliFailure, type CliIo, readJson, readText } from '../io';

interface VerifyFlags extends OutputFlags {
  bundle?: string;
  key: string;
  minSequence?: string;
  now?: string;
}

export function registerAllowlist(program: Command, io: CliIo): void {
  const allowlist = program.command('allowlist').description('Work with signed allowlists');
  const verify = allowlist
    .command('verify')
    .description(
      'Verify an allowlist as enforcement does: signature over the exact bytes, schema, rollback, expiry',
    )
    .argument('<file>', 'allowlist.json')
    .option('--bundle <file>', 'sigstore bundle (default: <file>.sigstore.json)')
    .requiredOption('--key <pem>', 'public key file (allowlist.pub, SPKI PEM)')
    .option('--min-sequence <n>', 'reject a sequence lower than this (the last one you accepted)')
    .option('--now <iso>', 'check expiry at this time instead of now');
  withOutput(verify, { default: 'text' });
  withExamples(verify, [
    [
      "Verify the published allowlist with the stack's AllowlistPublicKey output",
      'registry-watcher allowlist verify allowlist.json --key allowlist.pub',
    ],
    [
      'Refuse a rollback below the sequence you last accepted; print JSON',
      'registry-watcher allowlist verify allowlist.json --key allowlist.pub --min-sequence 42 -o json',
    ],
  ]);
  verify.action((file: string, flags: VerifyFlags) => {
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
        signatures: sigstoreAllowlistSignatures,
        ...(minSequence !== undefined && { minSequence }),
      });
    } catch (error) {
      if (error instanceof AllowlistRejectedError) {
        throw new CliFailure(`${file}: rejected (${error.reason}): ${error.message}`);
      }
      throw error;
    }
    const result = resultOf(file, verified, publicKeyPem, now);
    io.out(renderOne(flags.output, result, () => summary(result)));
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

function resultOf(file: string, allowlist: Allowlist, publicKeyPem: string, now: Date) {
  const repositories = Object.values(allowlist.images);
  const entries = repositories.flatMap((r) => Object.values(r));
  const warn = entries.filter((e) => e.verdict === 'WARN').length;
  return {
    file,
    valid: true,
    sequence: allowlist.sequence,
    signedBy: keyHint(publicKeyPem).slice(0, 16),
    generatedAt: allowlist.generatedAt,
    validUntil: allowlist.validUntil,
    secondsLeft: Math.floor((Date.parse(allowlist.validUntil) - now.getTime()) / 1000),
    digests: entries.length,
    pass: entries.length - warn,
    warn,
    repositories: repositories.length,
    policyHash: allowlist.policyHash,
  };
}

function summary(r: ReturnType<typeof resultOf>): string {
  return [
    `${r.file}: valid, sequence ${r.sequence}, signed by key ${r.signedBy}`,
    `  generated ${r.generatedAt}, valid until ${r.validUntil} (${hours(r.secondsLeft * 1000)} left)`,
    `  ${r.digests} digests (${r.pass} PASS, ${r.warn} WARN) in ${r.repositories} repositories`,
    `  policy ${r.policyHash}`,
  ].join('\n');
}

function hours(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
