import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { KeptObject } from '../../ports/publishing';
import { readS3ObjectText } from './s3-object-text';
import { ON_FAILURE_PREFIX, PARKED_PREFIX } from './s3-record-parking';

/** Every object under the prefixes of the failed-records bucket, in key order, page by page. */
export async function* keptObjects(
  client: S3Client,
  bucket: string,
  prefixes: readonly string[] = [PARKED_PREFIX, ON_FAILURE_PREFIX],
): AsyncGenerator<KeptObject> {
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const { Key } of page.Contents ?? []) {
        if (!Key) continue;
        yield { name: `s3://${bucket}/${Key}`, text: await readS3ObjectText(bucket, Key, client) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
