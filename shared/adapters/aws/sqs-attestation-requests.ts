import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AttestationRequest } from '../../domain/attestation';
import { UpstreamError } from '../../domain/errors';
import type { AttestationMark, VerdictRecord } from '../../domain/verdict-record';
import type { VerdictAttestor } from '../../ports';
import { isThrottlingError, withRetry } from '../../retry';
import { sharedClient } from './clients';

/**
 * Evaluate's side of the attestor split (docs/signatures.md): a verdict due for attestation
 * becomes one message on the attestor's queue naming the image and the verdict's version.
 * Evaluate holds no signing key and no registry write; the attestor reads the verdict from
 * the table, signs and attaches it.
 */
export class SqsAttestationRequests implements VerdictAttestor {
  private readonly client: SQSClient;

  constructor(
    private readonly queueUrl: string,
    client?: SQSClient,
  ) {
    this.client = client ?? sharedClient(SQSClient);
  }

  async attest(record: VerdictRecord, now: Date): Promise<AttestationMark> {
    const request: AttestationRequest = {
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      version: record.version,
      evaluatedAt: record.evaluatedAt,
    };
    try {
      await withRetry(() =>
        this.client.send(
          new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(request) }),
        ),
      );
    } catch (error) {
      throw new UpstreamError(
        isThrottlingError(error) ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FAILURE',
        `SendMessage to the attestor queue ${this.queueUrl} failed: ${(error as Error).message}; the evaluate message fails and its retry asks again`,
        { cause: error },
      );
    }
    return { requestedAt: now.toISOString() };
  }
}
