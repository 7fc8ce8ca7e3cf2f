import { loadFixture } from '../../events';
import { ECR_EVENT_READERS } from '../../shared/adapters/aws/ecr-events';
import {
  evaluateRequestEvent,
  messageReaderOf,
  requestsFromAnyEvent,
  requestsFromEvent,
  requestsFromMessageBody,
} from '../../shared/adapters/aws/evaluate-events';
import { InvalidEventError } from '../../shared/domain/errors';

const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const AMD64 = 'sha256:1a91b3113d51f5b585abe9d9ce70c86c497c8013142e3d27e77a94562dcc722e';

describe('EventBridge events → evaluate requests', () => {
  it.each([
    ['eventbridge/ecr-image-action-push', 'push', 'prod/api'],
    ['eventbridge/ecr-image-action-delete', 'delete', 'team-a/web'],
    ['eventbridge/ecr-image-scan-complete', 'scan', 'prod/api'],
    ['eventbridge/inspector2-scan-ecr', 'inspector-scan', 'prod/api'],
    ['eventbridge/inspector2-finding-ecr', 'inspector-finding', 'prod/api'],
  ] as const)('%s', (name, trigger, repository) => {
    const event = loadFixture(name);
    const [request, ...rest] = requestsFromEvent(event);
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      trigger,
      key: { registry: REGISTRY, repository },
      eventId: event.id,
      eventTime: event.time,
    });
    expect(request?.key.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('takes the registry of an Inspector2 Scan from the repository ARN', () => {
    const event = loadFixture('eventbridge/inspector2-scan-ecr');
    event.account = '999999999999';
    expect(requestsFromEvent(event)[0]?.key).toEqual({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
  });

  it('ignores a failed push', () => {
    const event = loadFixture('eventbridge/ecr-image-action-push');
    event.detail.result = 'FAILURE';
    expect(requestsFromEvent(event)).toEqual([]);
  });

  it('reads its own evaluate requests', () => {
    const key = { registry: REGISTRY, repository: 'prod/api', digest: AMD64 };
    const event = evaluateRequestEvent(key, 'rescan', new Date('2026-11-23T02:00:00Z'));
    expect(requestsFromEvent(event)).toEqual([
      { key, trigger: 'rescan', eventTime: '2026-11-23T02:00:00.000Z' },
    ]);
  });

  it('unwraps SQS records', () => {
    const requests = requestsFromAnyEvent(loadFixture('sqs/ecr-push-in-sqs'));
    expect(requests.map((r) => r.trigger)).toEqual(['push', 'scan']);
  });
});

describe('events that are not ours or malformed', () => {
  const push = () =>
    loadFixture('eventbridge/ecr-image-action-push') as unknown as Record<string, unknown> & {
      detail: Record<string, unknown>;
    };

  it.each([
    ['not an object', () => 42, 'not an EventBridge event'],
    ['another source', () => ({ ...push(), source: 'aws.s3' }), 'source "aws.s3"'],
    [
      'bad digest',
      () => ({ ...push(), detail: { ...push().detail, 'image-digest': 'sha256:zz' } }),
      'detail.image-digest',
    ],
    [
      'unknown action',
      () => ({ ...push(), detail: { ...push().detail, 'action-type': 'COPY' } }),
      'detail.action-type',
    ],
    [
      'bad repository',
      () => ({ ...push(), detail: { ...push().detail, 'repository-name': 'Bad Name' } }),
      'repository names are lower-case',
    ],
    ['no region', () => ({ ...push(), region: undefined }), 'no account or region'],
    [
      'non-ECR Inspector finding',
      () => {
        const e = loadFixture('eventbridge/inspector2-finding-ecr') as unknown as {
          detail: { resources: { type: string }[] };
        };
        for (const r of e.detail.resources) r.type = 'AWS_EC2_INSTANCE';
        return e;
      },
      'not about an ECR container image',
    ],
    [
      'own request with a tag',
      () => ({
        source: 'registry-watcher',
        'detail-type': 'Evaluate Request',
        detail: { image: `${REGISTRY}/a:v1`, trigger: 'manual' },
      }),
      'not pinned by digest',
    ],
  ])('%s', (_name, make, fragment) => {
    expect(() => requestsFromEvent(make())).toThrow(fragment);
    expect(() => requestsFromEvent(make())).toThrow(Error);
  });

  it('rejects a body that is not JSON', () => {
    expect(() => requestsFromMessageBody('{oops')).toThrow(InvalidEventError);
    expect(() => requestsFromAnyEvent({ Records: [{ nobody: 1 }] })).toThrow(
      'Records[0] has no SQS body',
    );
  });

  it('reads the event kinds its root gives it, and always our own requests', () => {
    const key = { registry: 'ghcr.io', repository: 'acme/app', digest: AMD64 };
    const hook = new Map([
      ['example.registry/Image Pushed', () => [{ key, trigger: 'push' as const }]],
    ]);
    const push = JSON.stringify({
      source: 'example.registry',
      'detail-type': 'Image Pushed',
      detail: {},
    });
    const ecrPush = JSON.stringify(loadFixture('eventbridge/ecr-image-action-push'));
    const own = JSON.stringify(
      evaluateRequestEvent(key, 'manual', new Date('2026-11-23T00:00:00Z')),
    );
    const hookOnly = messageReaderOf(hook);
    expect(hookOnly(push)).toEqual([{ key, trigger: 'push' }]);
    expect(hookOnly(own)).toEqual([
      { key, trigger: 'manual', eventTime: '2026-11-23T00:00:00.000Z' },
    ]);
    expect(() => hookOnly(ecrPush)).toThrow('not an event registry-watcher handles');
    const both = messageReaderOf(ECR_EVENT_READERS, hook);
    expect(both(ecrPush)).toEqual(requestsFromMessageBody(ecrPush));
    expect(both(push)).toHaveLength(1);
    expect(() => requestsFromMessageBody(push)).toThrow('source "example.registry"');
  });
});
