import type { S3Client } from '@aws-sdk/client-s3';
import type { ParkedRecord, RecordParking } from '../../ports/publishing';

/** Key prefix of records `changes` parked itself (the S3 on-failure objects sit beside it). */
export const PARKED_PREFIX = 'parked/changes/';
/** Key prefix Lambda's S3 on-failure destination writes under (its own layout below it). */
export const ON_FAILURE_PREFIX = 'aws/lambda/';

/**
 * Parks a record in the failed-records bucket, one object per record, keyed by its sequence
 * number: parking the same record twice (a retried batch) writes the same object.
 */
export class S3RecordParking implements RecordParking {
  constructor(
    private readonly bucket: string,
    /** @default one S3 client per container, created on the first record parked */
    private readonly client?: S3Client,
  ) {}

  async park(record: ParkedRecord): Promise<void> {
    // Loaded on the first record parked (a failure path), not at cold start.
    const { putS3Object } = await import('./s3-put-object.js');
    await putS3Object(
      {
        Bucket: this.bucket,
        Key: `${PARKED_PREFIX}${encodeURIComponent(record.id)}.json`,
        Body: JSON.stringify(record),
        ContentType: 'application/json',
      },
      this.client,
    );
  }
}
