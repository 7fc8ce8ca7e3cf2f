import { type AdmissionResponse, parseAdmissionReview } from './admission-review';
import type { Admission, AdmitOptions } from './admit';
import type { AllowlistIndex } from './allowlist-index';
import { checkImage } from './decide';
import type { ImageCheck } from './decision';
import { capWarnings, clip } from './messages';
import { isPodBearing, MalformedObjectError, podSource } from './workloads';

/** One RFC 6902 operation of the patch. */
export type PatchOperation =
  | { op: 'test'; path: string; value: string }
  | { op: 'replace'; path: string; value: string };

export interface Pinning extends Admission {
  /** Images rewritten from their tag to the admitted digest. */
  pinned: ImageCheck[];
  patch: PatchOperation[];
}

/**
 * The mutating endpoint: each tag the validating endpoint would admit as `TAG_RESOLVED`
 * (same settings, same allowlist) becomes `<reference as written>@<digest>`, with a JSONPatch,
 * as policy-controller and Kyverno's `mutateDigest` do. The node then pulls the digest
 * the gate judged, and the validating endpoint (called after every mutating webhook) sees
 * a digest. Never denies: what it leaves alone, the validating endpoint judges. Pure.
 */
export function pinTags(
  body: unknown,
  index: AllowlistIndex | undefined,
  options: AdmitOptions,
  now: Date,
): Pinning {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) {
    const error = `registry-watcher cannot read this request: ${parsed.message}`;
    const base = { outcome: 'admitted' as const, reason: 'MALFORMED_REQUEST' as const, error };
    return parsed.uid === undefined
      ? { ...base, outcome: 'denied', pinned: [], patch: [] }
      : { ...base, response: { uid: parsed.uid, allowed: true }, pinned: [], patch: [] };
  }
  const { request } = parsed;
  const untouched = (reason: Admission['reason']): Pinning => ({
    response: { uid: request.uid, allowed: true },
    outcome: 'admitted',
    reason,
    request,
    pinned: [],
    patch: [],
  });
  const kind = request.kind.kind;
  if (request.operation === 'DELETE' || request.operation === 'CONNECT' || !isPodBearing(kind)) {
    return untouched('NOT_A_WORKLOAD');
  }
  if (options.exemptNamespaces.includes(request.namespace ?? '')) {
    return untouched('EXEMPT_NAMESPACE');
  }
  let images: ReturnType<typeof podSource>['images'];
  try {
    images = podSource(kind, request.object, request.subResource).images;
  } catch (error) {
    if (!(error instanceof MalformedObjectError)) throw error;
    return untouched('MALFORMED_REQUEST');
  }
  const pinned = images
    .map((image) => checkImage(image, index, options, now))
    .filter((check) => check.reason === 'TAG_RESOLVED' && check.digest !== undefined);
  if (pinned.length === 0) return untouched('ALLOWLISTED');
  const patch = pinned.flatMap((check): PatchOperation[] => {
    const path = imagePointer(check.container.field, check.container.kind);
    const value = check.container.image;
    // `test` first: the patch applies only to the reference this decision was made on.
    return [
      { op: 'test', path, value },
      { op: 'replace', path, value: `${value}@${check.digest}` },
    ];
  });
  const warnings = capWarnings(
    pinned.map((c) =>
      clip(`pinned ${c.container.name} to ${c.digest?.slice(0, 19)} (allowlist tag map)`),
    ),
  );
  const response: AdmissionResponse = {
    uid: request.uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    warnings,
  };
  return { response, outcome: 'warned', reason: 'TAG_RESOLVED', request, pinned, patch };
}

/**
 * JSON Pointer (RFC 6901) of the image string of a `podSource` field such as
 * `spec.template.spec.volumes[1]`. Its keys are ours (no "/" or "~"), its indexes digits.
 */
export function imagePointer(field: string, kind: string): string {
  const segments = field === '' ? [] : field.replace(/\[(\d+)\]/g, '.$1').split('.');
  const tail = kind === 'volumes' ? ['image', 'reference'] : ['image'];
  return `/${[...segments, ...tail].map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}
