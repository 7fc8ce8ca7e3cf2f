/**
 * Every failure the watcher reports is one of these codes, so callers (handlers, CLI,
 * tests) can branch on `error.code` instead of parsing messages.
 */
export type ErrorCode =
  | 'INVALID_IMAGE_REFERENCE'
  | 'INVALID_POLICY'
  | 'INVALID_EVENT'
  | 'INVALID_FINDINGS'
  | 'INVALID_VERDICT'
  | 'INVALID_DURATION'
  | 'INVALID_CONFIG'
  | 'ALLOWLIST_REJECTED'
  | 'IMAGE_NOT_FOUND'
  | 'TABLE_UNAVAILABLE'
  | 'STORE_CONFLICT'
  | 'UPSTREAM_THROTTLED'
  | 'UPSTREAM_FAILURE'
  | 'INVALID_ARGUMENT'
  | 'MALFORMED_OBJECT'
  | 'ATTESTATION_REFUSED'
  | 'VERDICT_NOT_STORED'
  | SignatureErrorCode;

/** Why a signature or bundle did not verify (shared/adapters/sigstore). */
export type SignatureErrorCode =
  | 'BUNDLE_MALFORMED'
  | 'STATEMENT_UNREADABLE'
  | 'SIGNATURE_INVALID'
  | 'DIGEST_MISMATCH'
  | 'KEY_INVALID'
  // image signatures and keyless verification
  | 'KEY_UNTRUSTED'
  | 'IDENTITY_MISMATCH'
  // the signed docker-reference is not the image (signatures.identity)
  | 'REFERENCE_MISMATCH'
  | 'CERTIFICATE_UNTRUSTED'
  | 'TRUSTED_ROOT_MISSING';

export class RegistryWatcherError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidImageReferenceError extends RegistryWatcherError {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super('INVALID_IMAGE_REFERENCE', `invalid image reference "${reference}": ${reason}`);
  }
}

/** One problem in a policy file, located for an editor: file:line:column. */
export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class PolicyError extends RegistryWatcherError {
  /** Problems found; `issues` lists the first of them (and a line counting the rest). */
  readonly total: number;

  constructor(
    readonly issues: PolicyIssue[],
    options?: { cause?: unknown; total?: number },
  ) {
    super('INVALID_POLICY', formatPolicyIssues(issues), options);
    this.total = options?.total ?? issues.length;
  }
}

export function formatPolicyIssues(issues: PolicyIssue[]): string {
  return issues
    .map((i) => `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`)
    .join('\n');
}

export class InvalidEventError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_EVENT', message, options);
  }
}

export class InvalidFindingsError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_FINDINGS', message, options);
  }
}

/** A previous verdict (`evaluate --previous`, a stored record) that is not one. */
export class InvalidVerdictError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_VERDICT', message, options);
  }
}

export class InvalidDurationError extends RegistryWatcherError {
  constructor(readonly value: string) {
    super(
      'INVALID_DURATION',
      `invalid duration "${value}": use a number followed by d, h, m or s (e.g. 7d, 24h)`,
    );
  }
}

export class ConfigError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', message, options);
  }
}

export class StoreConflictError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_CONFLICT', message, options);
  }
}

export class UpstreamError extends RegistryWatcherError {
  constructor(
    code: 'UPSTREAM_THROTTLED' | 'UPSTREAM_FAILURE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export function isRegistryWatcherError(error: unknown): error is RegistryWatcherError {
  return error instanceof RegistryWatcherError;
}

/** Why a consumer must not use an allowlist document. */
export type AllowlistRejection =
  | 'MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'DIGEST_MISMATCH'
  | 'ROLLED_BACK'
  | 'EXPIRED';

export class AllowlistRejectedError extends RegistryWatcherError {
  constructor(
    readonly reason: AllowlistRejection,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ALLOWLIST_REJECTED', message, options);
  }
}

/** A question named an image the table holds no verdict for (a tag no stored digest carries). */
export class ImageNotFoundError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_NOT_FOUND', message, options);
  }
}

/** The verdict table a question reads cannot be reached (absent, wrong region, locked). */
export class TableUnavailableError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLE_UNAVAILABLE', message, options);
  }
}

/**
 * The attestor was asked for a verdict the table does not hold yet (evaluate sends before
 * its write lands): the request is retried, never signed with an older verdict.
 */
export class VerdictNotStoredError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERDICT_NOT_STORED', message, options);
  }
}

/** The attestor was asked to sign for an image it does not attest (another registry). */
export class AttestationRefusedError extends RegistryWatcherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ATTESTATION_REFUSED', message, options);
  }
}
