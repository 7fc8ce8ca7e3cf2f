/**
 * Every field of a pod spec that names an image must be read by the webhook. The fixtures
 * in events/k8s are walked generically for image-like fields (a key containing "image" or
 * "reference" with a string value that is not a pull policy); each is set to a sentinel
 * and `podSource` must report that sentinel. A fixture that gains an image field the
 * webhook does not read fails here; so does a field in the docs' list no fixture carries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_FIELDS, podSource } from '../../cluster/webhook/workloads';
import { type FixtureName, loadFixture } from '../../events';

const K8S = join(__dirname, '../../events/k8s');
const FIXTURES = readdirSync(K8S)
  .filter((f) => f.endsWith('.json'))
  .map((f) => `k8s/${f.replace(/\.json$/, '')}` as FixtureName);

const PULL_POLICIES = new Set(['Always', 'IfNotPresent', 'Never']);
const IMAGE_LIKE = /image|reference/i;
/**
 * Named "image" in the API but not pulled by the kubelet (k8s.io/api core/v1 types.go):
 * `RBDVolumeSource.RBDImage` (json `image`) is a Ceph block device.
 */
const NOT_PULLED = /(?:^|\.)rbd\.image$/;

/** JSON paths (`a.b[0].c`) of image-like string fields; metadata and status name no pull. */
function imageLikePaths(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => imageLikePaths(v, `${at}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) => {
    if (key === 'metadata' || key === 'status') return [];
    const path = at ? `${at}.${key}` : key;
    if (typeof v === 'string') {
      const imageLike = IMAGE_LIKE.test(key) && !PULL_POLICIES.has(v) && !NOT_PULLED.test(path);
      return imageLike ? [path] : [];
    }
    return imageLikePaths(v, path);
  });
}

function setAt(root: unknown, path: string, value: string): void {
  const keys = path.match(/[^.[\]]+/g) ?? [];
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1] as string] = value;
}

/** Path patterns relative to the pod spec, e.g. `volumes[].image.reference`. */
const seen = new Set<string>();

describe('every image-like field of the events/k8s fixtures is read by the webhook', () => {
  it('finds fixtures, and image-like fields in each', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(10);
    for (const name of FIXTURES) {
      expect(
        imageLikePaths(loadFixture(name as 'k8s/admission-review-pod').request.object),
      ).not.toEqual([]);
    }
  });

  it('the walk finds image fields anywhere and leaves out only the documented non-images', () => {
    const spec = {
      containers: [{ image: 'a', imagePullPolicy: 'Always', sidecar: { imageRef: 'b' } }],
      volumes: [{ rbd: { image: 'ceph-block', monitors: [] } }, { image: { reference: 'c' } }],
    };
    expect(imageLikePaths({ spec })).toEqual([
      'spec.containers[0].image',
      'spec.containers[0].sidecar.imageRef',
      'spec.volumes[1].image.reference',
    ]);
  });

  it.each(FIXTURES)('%s', (name) => {
    const { request } = loadFixture(name as 'k8s/admission-review-pod');
    const paths = imageLikePaths(request.object);
    paths.forEach((path, n) => {
      const object = structuredClone(request.object);
      const sentinel = `sentinel.invalid/field-${n}:probe`;
      setAt(object, path, sentinel);
      // Without the subresource: the question is whether the field is read at all.
      const read = podSource(request.kind.kind, object).images.filter((i) => i.image === sentinel);
      expect({ path, read: read.length }).toEqual({ path, read: 1 });
      const image = read[0];
      if (!image) return;
      expect(path.startsWith(image.field)).toBe(true);
      const specPrefix = image.field.slice(0, image.field.lastIndexOf(`${image.kind}[`));
      seen.add(path.slice(specPrefix.length).replace(/\[\d+\]/g, '[]'));
    });
  });

  it('the fixtures carry every field the webhook reads, and docs/enforcement.md lists them', () => {
    const documented = readFileSync(join(__dirname, '../../docs/enforcement.md'), 'utf8')
      .split('\n')
      .map((line) =>
        /^\| `((?:containers|initContainers|ephemeralContainers|volumes)\[\][^`]*)` \| (v?1\.\d+)/.exec(
          line,
        ),
      )
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m[1]);
    const read = Object.values(IMAGE_FIELDS);
    expect([...seen].sort()).toEqual([...read].sort());
    expect([...documented].sort()).toEqual([...read].sort());
  });
});
