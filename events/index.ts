/**
 * Typed loader for the sample events and API responses in this folder.
 * Shapes and sources: see README.md.
 *
 * To add a fixture: put `<folder>/<name>.json` here and add one line to {@link Fixtures}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BatchGetImageResponse,
  DescribeImageScanFindingsResponse,
  DescribeImagesResponse,
  GetAuthorizationTokenResponse,
} from '@aws-sdk/client-ecr';
import type { DynamoDBStreamEvent, EventBridgeEvent, SNSEvent, SQSEvent } from 'aws-lambda';
import type { AdmissionReviewRequestFixture } from './k8s/types';
import type {
  EcrImageActionDetail,
  EcrImageScanDetail,
  Inspector2FindingDetail,
  Inspector2ScanDetail,
  Wire,
} from './types';

export type * from './k8s/types';
export type * from './types';

/** Fixture name (path below `events/` without `.json`) → the type of its content. */
export interface Fixtures {
  'eventbridge/ecr-image-action-push': EventBridgeEvent<'ECR Image Action', EcrImageActionDetail>;
  'eventbridge/ecr-image-action-delete': EventBridgeEvent<'ECR Image Action', EcrImageActionDetail>;
  'eventbridge/ecr-image-scan-complete': EventBridgeEvent<'ECR Image Scan', EcrImageScanDetail>;
  'eventbridge/inspector2-scan-ecr': EventBridgeEvent<'Inspector2 Scan', Inspector2ScanDetail>;
  'eventbridge/inspector2-finding-ecr': EventBridgeEvent<
    'Inspector2 Finding',
    Inspector2FindingDetail
  >;
  'eventbridge/inspector2-finding-ecr-new-critical': EventBridgeEvent<
    'Inspector2 Finding',
    Inspector2FindingDetail
  >;
  // ECR responses as the JSON 1.1 wire carries them: timestamps are epoch seconds, not Dates.
  'ecr/describe-image-scan-findings-basic': Wire<DescribeImageScanFindingsResponse>;
  'ecr/describe-image-scan-findings-enhanced': Wire<DescribeImageScanFindingsResponse>;
  'ecr/describe-image-scan-findings-enhanced-later': Wire<DescribeImageScanFindingsResponse>;
  'ecr/describe-images': Wire<DescribeImagesResponse>;
  'ecr/batch-get-image-index': Wire<BatchGetImageResponse>;
  'ecr/get-authorization-token': Wire<GetAuthorizationTokenResponse>;
  'sqs/ecr-push-in-sqs': SQSEvent;
  'sqs/allowlist-rebuild-fifo': SQSEvent;
  'dynamodb/stream-verdict-transition': DynamoDBStreamEvent;
  'sns/verdict-event': SNSEvent;
  'sns/daily-digest': SNSEvent;
  'sns/verdict-escalated': SNSEvent;
  // Kubernetes AdmissionReview requests (admission.k8s.io/v1), one per pod-bearing kind.
  'k8s/admission-review-pod': AdmissionReviewRequestFixture;
  'k8s/admission-review-pod-ephemeralcontainers': AdmissionReviewRequestFixture;
  'k8s/admission-review-ephemeralcontainers-legacy': AdmissionReviewRequestFixture;
  'k8s/admission-review-deployment': AdmissionReviewRequestFixture;
  'k8s/admission-review-replicaset': AdmissionReviewRequestFixture;
  'k8s/admission-review-statefulset': AdmissionReviewRequestFixture;
  'k8s/admission-review-daemonset': AdmissionReviewRequestFixture;
  'k8s/admission-review-job': AdmissionReviewRequestFixture;
  'k8s/admission-review-cronjob': AdmissionReviewRequestFixture;
  'k8s/admission-review-replicationcontroller': AdmissionReviewRequestFixture;
}

export type FixtureName = keyof Fixtures;

/** Absolute path of a fixture file, for tests that need the raw bytes. */
export function fixturePath(name: FixtureName): string {
  return join(__dirname, `${name}.json`);
}

/**
 * Loads a fixture. Every call parses the file again, so the caller owns the
 * result and may mutate it without affecting other tests.
 */
export function loadFixture<K extends FixtureName>(name: K): Fixtures[K] {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as Fixtures[K];
}
