import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { withRetry } from '../../retry';
import { sharedClient } from './clients';

/**
 * The text (UTF-8) of one S3 object; an empty body reads as "". Its own module so callers
 * that rarely need S3 can `import()` it (a dynamic import of the SDK package itself would
 * keep every S3 command in the bundle).
 */
export async function readS3ObjectText(
  bucket: string,
  key: string,
  client: S3Client = sharedClient(S3Client),
): Promise<string> {
  const out = await withRetry(() =>
    client.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
  );
  return (await out.Body?.transformToString('utf8')) ?? '';
}
