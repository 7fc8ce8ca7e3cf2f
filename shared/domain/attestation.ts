import * as z from 'zod';
import { parseDuration } from './duration';
import type { Scanner } from './findings';
import { isDigest } from './image-ref';
import type { Severity, SeverityCounts } from './severity';
import type { Reason, VerdictValue } from './verdict';
import type { VerdictRecord } from './verdict-record';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** What cosign 2.x writes (`cosign attest`, `attest-blob`); same fields as v1. We write v1. */
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** cosign's vulnerability scan record (COSIGN_VULN_ATTESTATION_SPEC), `--type vuln`. */
export const VULN_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/vuln/v1';
/** cosign v3 signs images as DSSE statements of this type. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
/** Where the watcher says who it is, in the predicate and in our artifacts' annotations. */
export const WATCHER_URI = 'https://github.com/registry-watcher/registry-watcher';

export interface Statement<P = unknown> {
  _type: typeof IN_TOTO_STATEMENT_V1 | typeof IN_TOTO_STATEMENT_V01;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: P;
}

/** The verdict as it travels in `predicate.scanner.result`. */
export interface VerdictResult {
  verdict: VerdictValue;
  reasons: Pick<Reason, 'code' | 'effect' | 'message' | 'findings' | 'deadline' | 'platform'>[];
  severityCounts: SeverityCounts;
  maxSeverity: Severity | 'NONE';
  policyHash: string;
  evaluatedAt: string;
  /** When an admitted verdict stops holding without new facts. */
  expiresAt?: string;
  signature?: { status: string; signer?: string };
}

export interface VulnPredicate {
  invocation: { parameters: string[]; uri: string; event_id: string; 'builder.id': string };
  scanner: {
    uri: string;
    version: string;
    db: { uri: string; version: string };
    result: VerdictResult;
  };
  metadata: { scanStartedOn: string; scanFinishedOn: string };
}

/**
 * The in-toto Statement v1 for one evaluated digest: subject = repository + digest,
 * predicate = cosign's vuln record whose `scanner.result` carries the verdict.
 * ECR reports only when a scan completed, so both scan times are that instant; an image
 * without a completed scan uses the evaluation time.
 */
export function verdictStatement(
  record: VerdictRecord,
  watcherVersion: string,
  /** Where the scanner is described (its adapter knows; ECR's: `ECR_SCANNER_DOCS`). */
  scannerDocs: ReadonlyMap<Scanner, string> = new Map(),
): Statement<VulnPredicate> {
  const docs = scannerDocs.get(record.scan.scanner);
  const [algorithm, hex] = record.digest.split(':') as [string, string];
  const scanTime = record.scan.completedAt ?? record.evaluatedAt;
  const result: VerdictResult = {
    verdict: record.verdict,
    reasons: record.reasons.map(({ code, effect, message, findings, deadline, platform }) => ({
      code,
      effect,
      message,
      ...(findings && { findings }),
      ...(deadline && { deadline }),
      ...(platform && { platform }),
    })),
    severityCounts: record.severityCounts,
    maxSeverity: record.maxSeverity,
    policyHash: record.policyHash,
    evaluatedAt: record.evaluatedAt,
    ...(record.expiresAt && { expiresAt: record.expiresAt }),
    ...(record.signature && {
      signature: {
        status: record.signature.status,
        ...(record.signature.signer && { signer: record.signature.signer }),
      },
    }),
  };
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: `${record.registry}/${record.repository}`, digest: { [algorithm]: hex } }],
    predicateType: VULN_PREDICATE_TYPE,
    predicate: {
      invocation: {
        parameters: [],
        uri: WATCHER_URI,
        event_id: record.transitionId ?? '',
        'builder.id': WATCHER_URI,
      },
      scanner: {
        uri: docs ?? record.scan.scanner,
        version: `registry-watcher/${watcherVersion} ${record.scan.scanner}`,
        db: {
          uri: docs ?? '',
          version: record.scan.vulnerabilitySourceUpdatedAt ?? '',
        },
        result,
      },
      metadata: { scanStartedOn: scanTime, scanFinishedOn: scanTime },
    },
  };
}

const statementSchema = z.object({
  _type: z.enum([IN_TOTO_STATEMENT_V1, IN_TOTO_STATEMENT_V01]),
  subject: z.array(z.object({ name: z.string(), digest: z.record(z.string(), z.string()) })).min(1),
  predicateType: z.string().min(1),
  predicate: z.unknown(),
});

/** Parses a DSSE payload as an in-toto Statement (v1 or v0.1); undefined when it is not one. */
export function parseStatement(payload: Buffer): Statement | undefined {
  try {
    const parsed = statementSchema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? (parsed.data as Statement) : undefined;
  } catch {
    return undefined;
  }
}

/** True when one of the statement's subjects is `digest` (`sha256:<hex>`). */
export function statementCovers(statement: Statement, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  return statement.subject.some((s) => algorithm !== undefined && s.digest[algorithm] === hex);
}

export const DEFAULT_ATTESTATION_REFRESH = '24h';

/**
 * Whether a stored verdict needs a new attestation: never attested, the verdict changed
 * since (its `transitionAt` is later than the attestation, which also catches a failed
 * attach after a transition), or the last one is older than `refresh`. A PENDING verdict
 * with nothing to supersede is skipped (the scan-complete event brings the next
 * evaluation); deleted images never.
 */
export function needsAttestation(
  record: VerdictRecord,
  now: Date,
  refresh: string = DEFAULT_ATTESTATION_REFRESH,
): boolean {
  if (record.deletedAt) return false;
  const last = record.attestation;
  if (!last) return record.verdict !== 'PENDING';
  const attestedAt = Date.parse('requestedAt' in last ? last.requestedAt : last.attestedAt);
  if (record.transitionAt && Date.parse(record.transitionAt) > attestedAt) return true;
  return now.getTime() - attestedAt >= parseDuration(refresh);
}

/**
 * What evaluate hands the attestor: which image, and the version and evaluation time of its
 * verdict that was due. The attestor signs the verdict it reads from the table, never one
 * carried in the message, and only once the table holds at least that one.
 */
export const attestationRequestSchema = z
  .object({
    registry: z.string().min(1),
    repository: z.string().min(1),
    digest: z.string().refine(isDigest, 'a digest: sha256:<64 hex>'),
    version: z.number().int().positive(),
    evaluatedAt: z.iso.datetime({ offset: true }),
  })
  .strict();

export type AttestationRequest = z.infer<typeof attestationRequestSchema>;
