import { Duration, Stack } from 'aws-cdk-lib';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VERDICT_TABLE } from '../shared/adapters/aws/verdict-table';
import { attestorEnvironment } from '../shared/adapters/sigstore/environment';
import { VERSION } from '../shared/version';
import {
  acknowledgeRepositoryWildcards,
  anyResourcePolicy,
  repositoryArns,
  visibilityFor,
  type WatcherCore,
} from './core';
import { onlyItsSourcesSend, queueWithOwnDeadLetterQueue } from './storage';
import { type AnyWatcherFunction, WatcherFunction } from './watcher-function';

/**
 * The attestor's registry writes, one per call it makes: blob upload (POST, PATCH, PUT),
 * manifest push, and the DELETE of our superseded referrer. Only the attestor has them, only
 * on the watched repositories.
 */
export const ATTESTOR_ECR_ACTIONS = [
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:BatchDeleteImage',
];

/** Its reads: our previous `.att` and referrers (manifests, blobs, the tag list), blob checks. */
const ATTESTOR_ECR_READS = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:ListImages',
];

/**
 * The attestor (DESIGN §7: the attestation key belongs to whatever attaches attestations):
 * evaluate, which parses untrusted registry content, sends it one request per verdict due;
 * the attestor reads that verdict from the table, signs it with the attestation key (its one
 * signer) and attaches it to the image. Its queue keeps what it could not attest in a DLQ,
 * alarmed (docs/hops.md).
 */
export class Attestation extends Construct {
  readonly function: AnyWatcherFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: { core: WatcherCore }) {
    super(scope, id);
    const { core } = props;
    const { config } = core;
    const stack = Stack.of(this);

    const fn = new WatcherFunction(this, 'Attestor', {
      name: 'attestor',
      description: 'registry-watcher: signs verdict attestations and attaches them to the images',
      environmentSchema: attestorEnvironment,
      environment: {
        TABLE_NAME: core.table.tableName,
        // The stack's own registry: a verdict naming another host is refused, never signed.
        ATTESTED_REGISTRIES: `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`,
        ATTESTATION_KMS_KEY_ID: core.attestationKey.key.keyArn,
        WATCHER_VERSION: VERSION,
      },
      timeout: Duration.seconds(60),
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.function = fn;

    // Only this queue may dead-letter into its DLQ (RedriveAllowPolicy byQueue, docs/hops.md).
    const queues = queueWithOwnDeadLetterQueue(this, 'Queue', {
      visibilityTimeout: visibilityFor(fn),
      retentionPeriod: Duration.days(4),
      maxReceiveCount: 5,
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    onlyItsSourcesSend(this.deadLetterQueue);
    fn.function.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );

    const repositories = repositoryArns(this, config.repositories);
    fn.allow(ATTESTOR_ECR_READS, repositories);
    fn.allow(ATTESTOR_ECR_ACTIONS, repositories);
    acknowledgeRepositoryWildcards(fn.role, config.repositories);
    anyResourcePolicy(
      this,
      'RegistryLogin',
      fn.role,
      ['ecr:GetAuthorizationToken'],
      'ecr:GetAuthorizationToken (the registry login for pushing attestations) supports no resource-level permissions; what the token may do is decided per repository by the statements on the watched repositories.',
    );
    // Read only, image items only: it signs the verdict the table holds.
    fn.allow(['dynamodb:GetItem'], [core.table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${VERDICT_TABLE.imagePrefix}*`] },
    });
    core.attestationKey.grantSign(fn.role);
    core.watch(fn, 'attestor');
    core.alarms.batchItemFailures('AttestorBatchItemFailures', 'attestor', 'attestation requests');
    core.alarms.deadLetterQueue(
      'AttestorDlqNotEmpty',
      this.deadLetterQueue,
      'An attestation request',
    );
    core.alarms.backlog('AttestorBacklog', this.queue, Duration.hours(3), {
      what: 'attestation request',
      lag: 'attestations in the registry lag behind verdicts (admission policies on them see older ones)',
      check: "the attestor function's errors and throttling, and ECR or KMS failures in its logs",
    });
  }
}
