import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  isSignatureVerificationError,
  parseBundle,
  readStatement,
  SignatureVerificationError,
} from '../../shared/adapters/sigstore/bundles';
import { parseTrustedRoot } from '../../shared/adapters/sigstore/trust';
import {
  digestArtifact,
  type SignedArtifact,
  type VerificationTrust,
  verifyBundleWithTrust,
} from '../../shared/adapters/sigstore/verify';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import { statementCovers } from '../../shared/domain/attestation';
import { isRegistryWatcherError } from '../../shared/domain/errors';
import { CliFailure, type CliIo, readJson, readText } from '../io';

interface VerifyBundleFlags extends OutputFlags {
  bundle: string;
  key?: string;
  trustedRoot?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
}

const DIGEST = /^sha256:([a-f0-9]{64})$/;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function trustOf(flags: VerifyBundleFlags): VerificationTrust {
  if (flags.key)
    return { keys: [{ name: flags.key, publicKeyPem: readText(flags.key) }], keyless: [] };
  if (!flags.trustedRoot) {
    throw new CliFailure(
      'give --key PEM, or --trusted-root FILE with --certificate-identity and --certificate-oidc-issuer',
      2,
    );
  }
  const subject = flags.certificateIdentity
    ? `^${escapeRegExp(flags.certificateIdentity)}$`
    : flags.certificateIdentityRegexp;
  if (!subject || !flags.certificateOidcIssuer) {
    throw new CliFailure(
      'keyless verification needs --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer',
      2,
    );
  }
  let trustedRoot: VerificationTrust['trustedRoot'];
  try {
    trustedRoot = parseTrustedRoot(readJson(flags.trustedRoot), flags.trustedRoot);
  } catch (error) {
    if (isRegistryWatcherError(error)) throw new CliFailure(error.message);
    throw error;
  }
  return {
    keys: [],
    keyless: [{ issuer: flags.certificateOidcIssuer, subjectRegExp: subject }],
    trustedRoot,
  };
}

/** The artifact as bytes, or as its sha256 when given as `sha256:<hex>` (conformance protocol). */
async function artifactOf(input: string): Promise<{ artifact: SignedArtifact; digest: Buffer }> {
  const digest = DIGEST.exec(input)?.[1];
  if (digest) {
    const sha256 = Buffer.from(digest, 'hex');
    return { artifact: await digestArtifact(sha256), digest: sha256 };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(input);
  } catch (error) {
    throw new CliFailure(
      `cannot read ${input}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return { artifact: { bytes }, digest: createHash('sha256').update(bytes).digest() };
}

export function registerVerifyBundle(program: Command, io: CliIo): void {
  const command = program
    .command('verify-bundle')
    .description(
      'Verify a sigstore bundle offline (flags of cosign verify-blob and the sigstore conformance protocol)',
    )
    .argument('<artifact>', 'the signed file, or sha256:<hex> of it')
    .requiredOption('--bundle <file>', 'sigstore bundle (JSON)')
    .option('--key <pem>', 'public key (PEM) for keyed bundles')
    .option(
      '--trusted-root <file>',
      'sigstore trusted root (JSON) for keyless bundles; never fetched',
    )
    .option('--certificate-identity <id>', 'expected certificate subject (exact)')
    .option(
      '--certificate-identity-regexp <re>',
      'expected certificate subject (regular expression)',
    )
    .option('--certificate-oidc-issuer <url>', 'expected OIDC issuer of the certificate');
  withOutput(command, { default: 'text' });
  withExamples(command, [
    [
      'A file signed with a key (cosign sign-blob --key, or our KMS keys)',
      'registry-watcher verify-bundle allowlist.json --bundle allowlist.json.sigstore.json --key allowlist.pub',
    ],
    [
      'Keyless, against a trusted root you downloaded, as cosign verify-blob does',
      "registry-watcher verify-bundle app.tar --bundle app.tar.sigstore.json --trusted-root trusted_root.json --certificate-identity-regexp '^https://github.com/acme/' --certificate-oidc-issuer https://token.actions.githubusercontent.com -o json",
    ],
  ]);
  command.action(async (input: string, flags: VerifyBundleFlags) => {
    const trust = trustOf(flags);
    const { artifact, digest } = await artifactOf(input);
    try {
      const bundle = parseBundle(readJson(flags.bundle));
      if (bundle.content.$case === 'messageSignature') {
        const signed = bundle.content.messageSignature.messageDigest?.digest;
        if (signed && !signed.equals(digest)) {
          throw new SignatureVerificationError(
            'DIGEST_MISMATCH',
            'the artifact does not match the signed digest: it was changed after signing',
          );
        }
      } else {
        // A payload we cannot read is a failure: its subject cannot be checked.
        const statement = readStatement(bundle.content.dsseEnvelope);
        if (!statementCovers(statement, `sha256:${digest.toString('hex')}`)) {
          throw new SignatureVerificationError(
            'DIGEST_MISMATCH',
            'the artifact is not a subject of the signed statement',
          );
        }
      }
      const verified = verifyBundleWithTrust(
        bundle,
        trust,
        bundle.content.$case === 'messageSignature' ? artifact : undefined,
      );
      const result = { verified: true, artifact: input, signer: verified.signer };
      io.out(renderOne(flags.output, result, () => `OK: verified, signed by ${result.signer}`));
    } catch (error) {
      if (isSignatureVerificationError(error))
        throw new CliFailure(`verification failed: ${error.code}: ${error.message}`);
      throw error;
    }
  });
}
