import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ParkedRecord, RecordParking } from '../../ports/publishing';

/** Key prefix of records `changes` parked itself (the S3 on-failure objects sit beside it). */
export const PARKED_PREFIX = 'parked/changes/';
/** Key prefix Lambda's S3 on-failure destination writes under (its own layout below it). */
export const ON_FAILURE_PREFIX = 'aws/lambda/';

let defaultClient: S3Client | undefined;

/**
 * Parks a record in the failed-records bucket, one object per record, keyed by its sequence
 * number: parking the same record twice (a retried batch) writes the same object.
 */
export class S3RecordParking implements RecordParking {
  private readonly client: S3Client;

  constructor(
    private readonly bucket: string,
    client?: S3Client,
  ) {
    defaultClient ??= client ? undefined : new S3Client({});
    this.client = client ?? (defaultClient as S3Client);
  }

  async park(record: ParkedRecord): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${PARKED_PREFIX}${encodeURIComponent(record.id)}.json`,
        Body: JSON.stringify(record),
        ContentType: 'application/json',
      }),
    );
  }
}
