import type { SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { type BatchMetrics, publishBatchFigures } from '../adapters/aws/batch-metrics';
import { DynamoDbVerdictStore } from '../adapters/aws/dynamodb-verdict-store';
import { ECR_SCANNER_DOCS } from '../adapters/aws/ecr-findings';
import { KmsSigner } from '../adapters/aws/kms-signer';
import { FileSigner } from '../adapters/local/file-signer';
import { attestorEnvironment, registryClients } from '../adapters/sigstore/environment';
import { RegistryVerdictAttestor } from '../adapters/sigstore/verdict-attestor';
import { attestationRequestSchema } from '../domain/attestation';
import { ConfigError, InvalidEventError } from '../domain/errors';
import type { Log, Signer } from '../ports';
import { type AttestVerdictOptions, attestVerdict } from '../services/attest-verdict';

/**
 * The attestor hop's composition root (functions/attestor; tests drive the same handler):
 * requests from evaluate's queue → the verdict read from the table → signed and attached.
 */

const sqsEvent = z.object({
  Records: z.array(z.looseObject({ messageId: z.string(), body: z.string() })),
});

/** SQS batch → attestVerdict per message → batch item failures; ports resolved once. */
export function createAttestorHandler(
  options: () => AttestVerdictOptions,
  sink: BatchMetrics,
  log: Log,
) {
  let resolved: AttestVerdictOptions | undefined;
  return async (event: unknown): Promise<SQSBatchResponse> => {
    resolved ??= options();
    const opts = resolved;
    const parsed = sqsEvent.safeParse(event);
    if (!parsed.success) throw new InvalidEventError('not an SQS event', { cause: parsed.error });
    const failed: string[] = [];
    await Promise.all(
      parsed.data.Records.map(async ({ messageId, body }) => {
        try {
          const request = attestationRequestSchema.parse(JSON.parse(body));
          const result = await attestVerdict(request, opts);
          log.info('attestation request done', { messageId, ...request, ...result });
        } catch (error) {
          // Malformed, refused or failed: retried, then kept whole in the DLQ (docs/hops.md).
          failed.push(messageId);
          log.error('attestation request failed', {
            messageId,
            error: {
              name: (error as Error).name,
              code: (error as { code?: string }).code,
              message: (error as Error).message,
            },
          });
        }
      }),
    );
    publishBatchFigures(sink, { failures: failed.length });
    return { batchItemFailures: failed.map((id) => ({ itemIdentifier: id })) };
  };
}

/** The ports on AWS: the verdict table (read), the attestation key (KMS), the registries. */
export function attestorOptionsFromEnvironment(env: NodeJS.ProcessEnv): AttestVerdictOptions {
  const parsed = attestorEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid attestor settings: ${problems}`, { cause: parsed.error });
  }
  const settings = parsed.data;
  let signer: Signer;
  if (settings.ATTESTATION_KMS_KEY_ID) signer = new KmsSigner(settings.ATTESTATION_KMS_KEY_ID);
  else if (settings.ATTESTATION_KEY_FILE)
    signer = FileSigner.loadOrCreate(settings.ATTESTATION_KEY_FILE);
  else throw new ConfigError('the attestor needs ATTESTATION_KMS_KEY_ID (or ATTESTATION_KEY_FILE)');
  const list = (value: string | undefined) =>
    value
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean) ?? [];
  return {
    store: new DynamoDbVerdictStore({ tableName: settings.TABLE_NAME }),
    attestor: new RegistryVerdictAttestor({
      clientFor: registryClients(list(settings.REGISTRY_PLAIN_HTTP)),
      signer,
      version: settings.WATCHER_VERSION,
      scannerDocs: ECR_SCANNER_DOCS,
    }),
    registries: list(settings.ATTESTED_REGISTRIES),
  };
}
