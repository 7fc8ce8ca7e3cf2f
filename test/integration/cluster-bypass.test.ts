/**
 * Bypass matrix: every request here must be denied in enforce mode. The webhook runs with
 * `unwatchedRegistries: allow`, the most permissive setting, so a reference that escaped
 * normalisation (an alias of a watched registry read as some other registry) would be
 * admitted and fail its row.
 */

import { randomUUID } from 'node:crypto';
import type { ReasonCode } from '../../cluster/webhook/decision';
import type { AdmissionReviewRequestFixture } from '../../events';
import { loadFixture } from '../../events';
import {
  admitted,
  digest,
  ECR,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  startTestWebhook,
  type TestWebhook,
} from '../support/cluster';

const API = `${ECR}/prod/api`;
const GOOD = `${API}@${digest(1)}`;
const FAIL = digest(0xf41); // evaluated FAIL: never in the allowlist
const LEFT = digest(0x1ef7); // admitted in allowlist 1, gone from allowlist 2
const NGINX = digest(6);
const NOW = new Date();

let hook: TestWebhook;

beforeAll(async () => {
  const signer = newSigner();
  const images = [
    admitted('prod/api', 1, { tags: ['1.4.2', 'latest'] }),
    admitted('prod/api', 0xabcdef),
    admitted('prod/web', 4),
    admitted('prod/api', 3, { expiresAt: new Date(NOW.getTime() - 60_000).toISOString() }),
    {
      registry: 'docker.io',
      repository: 'library/nginx',
      digest: NGINX,
      verdict: 'PASS' as const,
      tags: ['1.27'],
    },
    {
      registry: 'registry.example',
      repository: 'team/app',
      digest: digest(7),
      verdict: 'PASS' as const,
      tags: [],
    },
    ...['localhost:5000', '[::1]:5000', '127.0.0.1:5000'].map((registry) => ({
      registry,
      repository: 'team/app',
      digest: digest(8),
      verdict: 'PASS' as const,
      tags: [],
    })),
  ];
  hook = await startTestWebhook(
    await signedAllowlist(signer, [...images, admitted('prod/api', 0x1ef7)], { sequence: 1 }),
    { unwatchedRegistries: 'allow' },
    { signer },
  );
  hook.publish(await signedAllowlist(signer, images, { sequence: 2 }));
  expect(await hook.refresh()).toEqual({ result: 'updated', sequence: 2 });
});
afterAll(() => hook.close());

type Build = () => AdmissionReviewRequestFixture | string;
const pod =
  (containers: string[], extra: Parameters<typeof reviewWith>[1] = {}) =>
  () =>
    reviewWith('k8s/admission-review-pod', { containers, ...extra });

function mutate(
  build: () => AdmissionReviewRequestFixture,
  change: (r: AdmissionReviewRequestFixture) => void,
): Build {
  return () => {
    const review = build();
    change(review);
    return review;
  };
}

const MATRIX: [string, Build, ReasonCode | 'HTTP 400'][] = [
  // where the image sits
  ['Pod: FAIL digest in containers', pod([`${API}@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'Pod: FAIL digest in initContainers',
    pod([GOOD], { initContainers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'Pod: FAIL digest in ephemeralContainers at CREATE',
    pod([GOOD], { ephemeralContainers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  ['Pod: second of two containers', pod([GOOD, `${API}@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'pods/ephemeralcontainers: kubectl debug with a FAIL image',
    () =>
      reviewWith('k8s/admission-review-pod-ephemeralcontainers', {
        ephemeralContainers: [`${API}@${FAIL}`],
      }),
    'NOT_ALLOWLISTED',
  ],
  [
    'EphemeralContainers (1.16–1.22): FAIL image',
    () =>
      reviewWith('k8s/admission-review-ephemeralcontainers-legacy', {
        ephemeralContainers: [`${API}@${FAIL}`],
      }),
    'NOT_ALLOWLISTED',
  ],
  [
    'Deployment: template container',
    () => reviewWith('k8s/admission-review-deployment', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'Deployment: template initContainer',
    () =>
      reviewWith('k8s/admission-review-deployment', {
        containers: [GOOD],
        initContainers: [`${API}@${FAIL}`],
      }),
    'NOT_ALLOWLISTED',
  ],
  [
    'Deployment: UPDATE to a FAIL image',
    mutate(
      () => reviewWith('k8s/admission-review-deployment', { containers: [`${API}@${FAIL}`] }),
      (r) => {
        r.request.operation = 'UPDATE';
        r.request.oldObject = loadFixture('k8s/admission-review-deployment').request.object;
      },
    ),
    'NOT_ALLOWLISTED',
  ],
  [
    'ReplicaSet',
    () => reviewWith('k8s/admission-review-replicaset', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'StatefulSet',
    () => reviewWith('k8s/admission-review-statefulset', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'DaemonSet: initContainer',
    () =>
      reviewWith('k8s/admission-review-daemonset', {
        containers: [GOOD],
        initContainers: [`${API}@${FAIL}`],
      }),
    'NOT_ALLOWLISTED',
  ],
  [
    'Job',
    () => reviewWith('k8s/admission-review-job', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'ReplicationController',
    () =>
      reviewWith('k8s/admission-review-replicationcontroller', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'CronJob: nested jobTemplate container',
    () => reviewWith('k8s/admission-review-cronjob', { containers: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ],
  [
    'CronJob: nested jobTemplate initContainer',
    () =>
      reviewWith('k8s/admission-review-cronjob', {
        containers: [GOOD],
        initContainers: [`${API}@${FAIL}`],
      }),
    'NOT_ALLOWLISTED',
  ],
  // image volumes (volumes[].image.reference): pulled by the kubelet like containers
  ...(
    [
      ['Pod', 'k8s/admission-review-pod'],
      ['Deployment', 'k8s/admission-review-deployment'],
      ['ReplicaSet', 'k8s/admission-review-replicaset'],
      ['StatefulSet', 'k8s/admission-review-statefulset'],
      ['DaemonSet', 'k8s/admission-review-daemonset'],
      ['Job', 'k8s/admission-review-job'],
      ['CronJob', 'k8s/admission-review-cronjob'],
      ['ReplicationController', 'k8s/admission-review-replicationcontroller'],
    ] as const
  ).map(([kind, fixture]): [string, Build, ReasonCode] => [
    `image volume: ${kind} with an admitted container and a FAIL image volume`,
    () => reviewWith(fixture, { containers: [GOOD], imageVolumes: [`${API}@${FAIL}`] }),
    'NOT_ALLOWLISTED',
  ]),
  [
    'image volume: second of two, tag only',
    () =>
      reviewWith('k8s/admission-review-pod', {
        containers: [GOOD],
        imageVolumes: [GOOD, `${API}:1.4.2`],
      }),
    'NOT_PINNED',
  ],
  [
    'image volume: invalid reference',
    () =>
      reviewWith('k8s/admission-review-pod', {
        containers: [GOOD],
        imageVolumes: ['registry.example/App'],
      }),
    'INVALID_REFERENCE',
  ],
  [
    'image volume: reference missing',
    mutate(pod([GOOD]), (r) => {
      (r.request.object.spec as Record<string, unknown>).volumes = [{ name: 'v', image: {} }];
    }),
    'MALFORMED_REQUEST',
  ],
  // how the image is named
  ['tag only, the tag of an admitted digest', pod([`${API}:1.4.2`]), 'NOT_PINNED'],
  ['no tag, no digest (implicit latest)', pod([API]), 'NOT_PINNED'],
  ['admitted tag with a FAIL digest', pod([`${API}:1.4.2@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'digest allowlisted for another repository',
    pod([`${ECR}/prod/web@${digest(1)}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'digest allowlisted in another registry',
    pod([`registry.example/team/app@${digest(1)}`]),
    'NOT_ALLOWLISTED',
  ],
  ['docker.io/library/x: FAIL digest', pod([`docker.io/library/nginx@${FAIL}`]), 'NOT_ALLOWLISTED'],
  ['x (short Docker Hub name): FAIL digest', pod([`nginx@${FAIL}`]), 'NOT_ALLOWLISTED'],
  ['library/x: FAIL digest', pod([`library/nginx@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'index.docker.io alias: FAIL digest',
    pod([`index.docker.io/library/nginx@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'registry-1.docker.io alias: FAIL digest',
    pod([`registry-1.docker.io/library/nginx@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'DOCKER.IO in capitals: FAIL digest',
    pod([`DOCKER.IO/library/nginx@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'upper-case ECR host: FAIL digest',
    pod([`${ECR.toUpperCase()}/prod/api@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'explicit :443 on the ECR host: FAIL digest',
    pod([`${ECR}:443/prod/api@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'upper case + :443: another repository’s digest',
    pod([`Registry.Example:443/team/app@${NGINX}`]),
    'NOT_ALLOWLISTED',
  ],
  // the exact string: nothing is trimmed, as the runtime trims nothing
  ...(
    [
      ['leading spaces', `  ${API}@${GOOD.split('@')[1]}`],
      ['a trailing space', `${GOOD} `],
      ['a leading tab', `\t${GOOD}`],
      ['a trailing newline', `${GOOD}\n`],
      ['a leading NBSP', `\u00a0${GOOD}`],
      ['a trailing NBSP', `${GOOD}\u00a0`],
      ['a byte-order mark', `\ufeff${GOOD}`],
      ['a zero-width space', `${GOOD}\u200b`],
    ] as const
  ).map(([what, image]): [string, Build, ReasonCode] => [
    `exact string: an admitted digest with ${what}`,
    pod([image]),
    'INVALID_REFERENCE',
  ]),
  // host and port as the runtime dials them (these count as another registry if missed)
  ['port with a leading zero: ECR :0443', pod([`${ECR}:0443/prod/api@${FAIL}`]), 'NOT_ALLOWLISTED'],
  ['port with zeros: ECR :000443', pod([`${ECR}:000443/prod/api@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'upper-case ECR host with :0443',
    pod([`${ECR.toUpperCase()}:0443/prod/api@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  ['localhost:05000', pod([`localhost:05000/team/app@${FAIL}`]), 'NOT_ALLOWLISTED'],
  ['LOCALHOST:5000', pod([`LOCALHOST:5000/team/app@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'out-of-range port 443443',
    pod([`${ECR}:443443/prod/api@${GOOD.split('@')[1]}`]),
    'INVALID_REFERENCE',
  ],
  [
    'out-of-range port 65979 (443 + 65536)',
    pod([`${ECR}:65979/prod/api@${FAIL}`]),
    'INVALID_REFERENCE',
  ],
  ['port 0', pod([`${ECR}:0/prod/api@${FAIL}`]), 'INVALID_REFERENCE'],
  ['IPv6 written in full', pod([`[0:0:0:0:0:0:0:1]:5000/team/app@${FAIL}`]), 'NOT_ALLOWLISTED'],
  ['IPv6 with leading zeros', pod([`[0000::0001]:05000/team/app@${FAIL}`]), 'NOT_ALLOWLISTED'],
  [
    'IPv4-mapped IPv6 of 127.0.0.1',
    pod([`[::FFFF:7f00:1]:5000/team/app@${FAIL}`]),
    'NOT_ALLOWLISTED',
  ],
  ['not an IPv6 address (two "::")', pod([`[1::2::3]:5000/team/app@${FAIL}`]), 'INVALID_REFERENCE'],
  [
    'numeric host with leading zeros',
    pod([`127.000.000.001:5000/team/app@${FAIL}`]),
    'INVALID_REFERENCE',
  ],
  ['numeric host as one number', pod([`2130706433:5000/team/app@${FAIL}`]), 'INVALID_REFERENCE'],
  [
    'registry-1.docker.io/x keeps its path (not library/x)',
    pod([`registry-1.docker.io/nginx@${NGINX}`]),
    'NOT_ALLOWLISTED',
  ],
  [
    'upper-case hex digest',
    pod([`${API}@${digest(0xabcdef).replace('abcdef', 'ABCDEF')}`]),
    'INVALID_REFERENCE',
  ],
  ['sha512 digest', pod([`${API}@sha512:${'a'.repeat(128)}`]), 'NOT_ALLOWLISTED'],
  ['two digests', pod([`${API}@${digest(1)}@${FAIL}`]), 'INVALID_REFERENCE'],
  [
    'path traversal in the repository',
    pod([`${ECR}/prod/api/../web@${digest(4)}`]),
    'INVALID_REFERENCE',
  ],
  ['empty image', pod(['']), 'INVALID_REFERENCE'],
  // what the allowlist says
  ['a digest that left the allowlist', pod([`${API}@${LEFT}`]), 'NOT_ALLOWLISTED'],
  ['an entry past its expiresAt', pod([`${API}@${digest(3)}`]), 'ENTRY_EXPIRED'],
  // malformed requests: a clear denial, never a crash
  [
    'malformed: containers is not a list',
    mutate(pod([GOOD]), (r) => {
      (r.request.object.spec as Record<string, unknown>).containers = GOOD;
    }),
    'MALFORMED_REQUEST',
  ],
  [
    'malformed: image is not a string',
    mutate(pod([GOOD]), (r) => {
      (r.request.object.spec as Record<string, unknown>).containers = [{ name: 'x', image: ['a'] }];
    }),
    'MALFORMED_REQUEST',
  ],
  [
    'malformed: no object',
    mutate(pod([GOOD]), (r) => {
      delete (r.request as Partial<typeof r.request>).object;
    }),
    'MALFORMED_REQUEST',
  ],
  [
    'malformed: CronJob without jobTemplate',
    mutate(
      () => reviewWith('k8s/admission-review-cronjob', { containers: [GOOD] }),
      (r) => {
        delete (r.request.object.spec as Record<string, unknown>).jobTemplate;
      },
    ),
    'MALFORMED_REQUEST',
  ],
  ['malformed: body is not JSON', () => '{"request": {"uid": "x", "object": ', 'HTTP 400'],
];

describe('bypass matrix: every row is denied in enforce mode', () => {
  it('has at least 30 rows', () => expect(MATRIX.length).toBeGreaterThanOrEqual(30));

  it.each(MATRIX)('%s', async (_, build, reason) => {
    const review = build();
    if (typeof review !== 'string') review.request.uid = randomUUID();
    const { status, body } = await post(hook.url('/validate/enforce'), review, hook.tls.ca);
    if (reason === 'HTTP 400') {
      expect(status).toBe(400);
      expect(body.error).toMatch(/cannot check this request/);
      return;
    }
    expect(status).toBe(200);
    const uid = (review as AdmissionReviewRequestFixture).request.uid;
    expect(body.response).toMatchObject({
      uid,
      allowed: false,
      status: { message: expect.stringMatching(/\S/) },
    });
    const logged = hook.log.entries.find(
      (e) => e.fields.uid === uid && e.message === 'admission denied',
    );
    expect(logged?.fields.reason).toBe(reason);
  });

  it('the same images pass when they are allowlisted (the matrix is not denying everything)', async () => {
    for (const image of [
      GOOD,
      `${API}@${digest(0xabcdef)}`,
      `nginx@${NGINX}`,
      `Registry.Example:443/team/app@${digest(7)}`,
      `${ECR}:0443/prod/api@${digest(1)}`,
      `localhost:05000/team/app@${digest(8)}`,
      `[0:0::1]:05000/team/app@${digest(8)}`,
      `[::ffff:7f00:1]:5000/team/app@${digest(8)}`,
    ]) {
      const review = reviewWith('k8s/admission-review-pod', {
        containers: [image],
        imageVolumes: [image],
      });
      const { body } = await post(hook.url('/validate/enforce'), review, hook.tls.ca);
      expect(body.response.allowed).toBe(true);
    }
  });
});

describe('registries written in settings get the canonical form references get', () => {
  let scoped: TestWebhook;
  beforeAll(async () => {
    const signer = newSigner();
    scoped = await startTestWebhook(
      await signedAllowlist(signer, [admitted('prod/api', 1)]),
      {
        unwatchedRegistries: 'allow',
        registries: [`${ECR.toUpperCase()}:0443`, 'LOCALHOST:05000'],
      },
      { signer },
    );
  });
  afterAll(() => scoped.close());

  it.each([`${API}@${FAIL}`, `${ECR}:443/prod/api@${FAIL}`, `localhost:5000/team/app@${FAIL}`])(
    '%s is watched, so denied',
    async (image) => {
      const { body } = await post(scoped.url('/validate/enforce'), pod([image])(), scoped.tls.ca);
      expect(body.response.allowed).toBe(false);
    },
  );
});
