import { RegistryWatcherError } from '../../domain/errors';

/** What went wrong talking to a registry, for callers to branch on. */
export type RegistryFailure =
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NOT_FOUND'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'REJECTED'
  | 'UNSUPPORTED'
  | 'INVALID_RESPONSE';

const ADVICE: Record<RegistryFailure, string> = {
  UNAUTHORIZED:
    'check the registry credentials (for ECR: the role needs ecr:GetAuthorizationToken)',
  DENIED:
    'the credentials are valid but lack permission for this repository (for ECR: ecr:BatchGetImage to read; ecr:PutImage, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload to write)',
  NOT_FOUND: 'check the repository name and digest',
  THROTTLED: 'the registry throttled us after several retries; it will be retried later',
  UNAVAILABLE: 'the registry failed after several retries; it will be retried later',
  REJECTED: 'the registry refused the content',
  UNSUPPORTED: 'the registry does not support this operation',
  INVALID_RESPONSE: 'the registry answered something that is not a valid OCI response',
};

/**
 * A registry call failed. `code` follows the project's error codes (IMAGE_NOT_FOUND,
 * UPSTREAM_THROTTLED, UPSTREAM_FAILURE); `failure` says precisely what happened.
 */
export class RegistryError extends RegistryWatcherError {
  constructor(
    readonly failure: RegistryFailure,
    readonly operation: string,
    options: { status?: number; detail?: string; cause?: unknown } = {},
  ) {
    super(
      failure === 'NOT_FOUND'
        ? 'IMAGE_NOT_FOUND'
        : failure === 'THROTTLED'
          ? 'UPSTREAM_THROTTLED'
          : 'UPSTREAM_FAILURE',
      `${operation}: ${options.status ? `HTTP ${options.status} ` : ''}${failure.toLowerCase().replace('_', ' ')}${options.detail ? ` (${options.detail})` : ''}; ${ADVICE[failure]}`,
      { cause: options.cause },
    );
    this.status = options.status;
  }

  readonly status: number | undefined;

  /** Worth another attempt: throttling, 5xx and network failures. */
  get retryable(): boolean {
    return this.failure === 'THROTTLED' || this.failure === 'UNAVAILABLE';
  }
}

export function isRegistryError(error: unknown, failure?: RegistryFailure): error is RegistryError {
  return error instanceof RegistryError && (failure === undefined || error.failure === failure);
}

/** Maps an HTTP status to a failure kind. */
export function failureOf(status: number): RegistryFailure {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 405) return 'UNSUPPORTED';
  if (status === 429) return 'THROTTLED';
  if (status >= 500) return 'UNAVAILABLE';
  return 'REJECTED';
}
