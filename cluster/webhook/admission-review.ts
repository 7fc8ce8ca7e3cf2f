import * as z from 'zod';

/**
 * The parts of an `admission.k8s.io/v1` AdmissionReview the webhook reads. Everything else
 * (options, oldObject, requestKind...) is left out of the parsed result: copying unknown
 * fields (`.loose()`) cost twice the time and allocation of the check itself, per review.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
 */
const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

const request = z.object({
  uid: z.string().min(1),
  kind: groupVersionKind,
  resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }),
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  userInfo: z
    .object({ username: z.string().optional(), groups: z.array(z.string()).optional() })
    .optional(),
  object: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});

const review = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request,
});

export type AdmissionRequest = z.infer<typeof request>;

export type ParsedReview =
  | { ok: true; request: AdmissionRequest }
  /** `uid` is set when the request could still be answered (it carried one). */
  | { ok: false; uid?: string; message: string };

/** Parses the body; never throws. */
export function parseAdmissionReview(body: unknown): ParsedReview {
  const parsed = review.safeParse(body);
  if (parsed.success) return { ok: true, request: parsed.data.request };
  const issue = parsed.error.issues[0];
  const message = `not an admission.k8s.io/v1 AdmissionReview: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
  const uid = (body as { request?: { uid?: unknown } } | null)?.request?.uid;
  return typeof uid === 'string' && uid !== ''
    ? { ok: false, uid, message }
    : { ok: false, message };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  /** Mutating endpoint only: a base64 RFC 6902 patch of the object. */
  patchType?: 'JSONPatch';
  patch?: string;
}

/** The review sent back: same apiVersion and kind, `response.uid` copied from the request. */
export function admissionReview(response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}
