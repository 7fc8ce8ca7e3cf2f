import { S3Client } from '@aws-sdk/client-s3';
import { keptObjects } from '../adapters/aws/s3-kept-objects';
import { keptRecordsOf, streamChangesOf } from '../adapters/aws/stream-records';
import { type ReplayOutcome, replayRecords } from '../services/replay-records';
import { type AwsChangesSettings, awsChangesOptions } from './changes';

/**
 * `registry-watcher replay`: the kept records of the failed-records bucket through the
 * changes hop's own ports (composition/changes.ts), so what was announced stays announced once.
 */
export interface ReplaySettings extends Omit<AwsChangesSettings, 'failedRecordsBucket'> {
  bucket: string;
  /** Only objects under these key prefixes (default: parked records and on-failure batches). */
  prefixes?: string[];
  /** A custom endpoint (s3rver, MinIO) is addressed path-style. */
  pathStyle?: boolean;
}

export function replayKeptRecords(settings: ReplaySettings): Promise<ReplayOutcome[]> {
  const s3 = new S3Client({ forcePathStyle: settings.pathStyle === true });
  const { parking: _none, ...announce } = awsChangesOptions(settings);
  return replayRecords(keptObjects(s3, settings.bucket, settings.prefixes), {
    ...announce,
    read: (object) => streamChangesOf(keptRecordsOf(object.text, object.name)),
  });
}
