import { type ECRClient, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { type ImageKey, imageId } from '../../domain/image-ref';
import type { ScanStart, ScanStarter } from '../../ports/rescan';
import { isRetryableAwsError, isThrottlingError, type RetryOptions, withRetry } from '../../retry';
import { ecrTarget, sharedEcrClient } from './ecr-calls';

export interface EcrScanStarterOptions {
  clientFor?: (region: string) => ECRClient;
  /** Backoff for throttling and 5xx; LimitExceededException is never retried. */
  retry?: RetryOptions;
}

const ANSWERS: ReadonlyMap<string, ScanStart> = new Map([
  // Once per image per 24 h, or the 100,000 basic scans a day: "not possible now", not throttling.
  ['LimitExceededException', 'not-possible'],
  ['UnsupportedImageTypeException', 'unsupported'],
  ['ImageNotFoundException', 'not-found'],
  ['RepositoryNotFoundException', 'not-found'],
]);

/** Basic scans on demand (ECR StartImageScan). */
export class EcrScanStarter implements ScanStarter {
  private readonly clientFor: (region: string) => ECRClient;

  constructor(private readonly options: EcrScanStarterOptions = {}) {
    this.clientFor = options.clientFor ?? sharedEcrClient;
  }

  async startScan(key: ImageKey): Promise<{ result: ScanStart; message?: string }> {
    const { client, registryId } = ecrTarget(key.registry, this.clientFor);
    try {
      await withRetry(
        () =>
          client.send(
            new StartImageScanCommand({
              registryId,
              repositoryName: key.repository,
              imageId: { imageDigest: key.digest },
            }),
          ),
        { attempts: 4, ...this.options.retry, retryable: isRetryableAwsError },
      );
      return { result: 'started' };
    } catch (error) {
      const e = error as Error;
      const answer = ANSWERS.get(e.name);
      if (answer) return { result: answer, message: e.message };
      if (isThrottlingError(error)) {
        return { result: 'throttled', message: `${imageId(key)}: ${e.message}` };
      }
      return { result: 'failed', message: `${imageId(key)}: ${e.name}: ${e.message}` };
    }
  }
}
