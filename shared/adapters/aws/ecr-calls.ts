import { ECRClient } from '@aws-sdk/client-ecr';
import { UpstreamError } from '../../domain/errors';
import { parseEcrRegistry } from '../../domain/image-ref';
import { isThrottlingError, type RetryOptions, withRetry } from '../../retry';
import { awsClient } from './clients';

/** One ECR client per region, created on first use. */
export function ecrClientCache(): (region: string) => ECRClient {
  const clients = new Map<string, ECRClient>();
  return (region) => {
    const client = clients.get(region) ?? awsClient(ECRClient, { region });
    clients.set(region, client);
    return client;
  };
}

/** The container's ECR clients, one per region: adapters built without their own share them. */
export const sharedEcrClient = ecrClientCache();

/** Client and registry id for an ECR registry host; other hosts are refused by name. */
export function ecrTarget(
  registry: string,
  clientFor: (region: string) => ECRClient,
): { client: ECRClient; registryId: string } {
  const ecr = parseEcrRegistry(registry);
  if (!ecr) {
    throw new UpstreamError(
      'UPSTREAM_FAILURE',
      `"${registry}" is not an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com)`,
    );
  }
  return { client: clientFor(ecr.region), registryId: ecr.accountId };
}

/** Retries with backoff, then names the call and tells throttling apart from other failures. */
export async function callEcr<T>(
  what: string,
  task: () => Promise<T>,
  retry?: RetryOptions,
): Promise<T> {
  try {
    return await withRetry(task, retry);
  } catch (error) {
    const throttled = isThrottlingError(error);
    throw new UpstreamError(
      throttled ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FAILURE',
      `${what} failed${throttled ? ' (throttled after retries)' : ''}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
