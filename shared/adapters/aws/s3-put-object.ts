import { PutObjectCommand, type PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';

let defaultClient: S3Client | undefined;

/** One client per container, created on first use (the SDK's own retries, as before). */
function defaultS3(): S3Client {
  defaultClient ??= new S3Client({});
  return defaultClient;
}

/**
 * Writes one S3 object. Its own module so callers that rarely write to S3 can `import()` it
 * (a dynamic import of the SDK package itself would keep every S3 command in the bundle):
 * `changes` parks a record only when it cannot be delivered, so its cold start skips the S3
 * client (docs/deploy.md, code splitting).
 */
export async function putS3Object(
  input: PutObjectCommandInput,
  client: S3Client = defaultS3(),
): Promise<void> {
  await client.send(new PutObjectCommand(input));
}
