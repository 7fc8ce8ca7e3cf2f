import {
  type AdmissionRequest,
  type AdmissionResponse,
  parseAdmissionReview,
} from './admission-review';
import type { AllowlistIndex } from './allowlist-index';
import { decide } from './decide';
import type { Decision, DecisionOptions, Mode, ReasonCode } from './decision';
import { capWarnings, clip, denialMessage, MAX_STATUS_MESSAGE } from './messages';
import { isPodBearing, MalformedObjectError, podSource } from './workloads';

export interface AdmitOptions extends DecisionOptions {
  /** Namespaces never checked (the webhook's own, kube-system: also excluded by the manifests). */
  exemptNamespaces: readonly string[];
  /** Annotation that admits a denied workload, with a warning and an audit log line. */
  breakGlassAnnotation?: string;
}

/** Everything the server needs to answer, count and log one review. */
export interface Admission {
  /** undefined when the body carried no uid: answered with HTTP 400. */
  response?: AdmissionResponse;
  outcome: Decision['outcome'];
  reason: ReasonCode;
  request?: AdmissionRequest;
  decision?: Decision;
  error?: string;
}

const IGNORED_BREAK_GLASS =
  'break-glass ignored: its reason has no visible character; write the incident or ticket id';

/** Pure: one parsed JSON body in, one AdmissionReview response out. Never throws. */
export function admit(
  body: unknown,
  mode: Mode,
  index: AllowlistIndex | undefined,
  options: AdmitOptions,
  now: Date,
): Admission {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) {
    return malformed(parsed.uid, parsed.message, mode);
  }
  const { request } = parsed;
  const kind = request.kind.kind;
  if (request.operation === 'DELETE' || request.operation === 'CONNECT' || !isPodBearing(kind)) {
    return {
      response: { uid: request.uid, allowed: true },
      outcome: 'admitted',
      reason: 'NOT_A_WORKLOAD',
      request,
    };
  }
  if (options.exemptNamespaces.includes(request.namespace ?? '')) {
    return {
      response: { uid: request.uid, allowed: true },
      outcome: 'admitted',
      reason: 'EXEMPT_NAMESPACE',
      request,
    };
  }
  let source: ReturnType<typeof podSource>;
  try {
    source = podSource(kind, request.object, request.subResource);
  } catch (error) {
    if (!(error instanceof MalformedObjectError)) throw error;
    return { ...malformed(request.uid, `${kind}: ${error.message}`, mode), request };
  }
  const glass = breakGlass(source.annotations, options.breakGlassAnnotation);
  const decision = decide(
    {
      mode,
      images: source.images,
      ...(glass.breakGlass && { breakGlass: glass.breakGlass }),
    },
    index,
    options,
    now,
  );
  const warnings = capWarnings([
    ...(glass.ignored && !decision.allowed ? [IGNORED_BREAK_GLASS] : []),
    ...decision.warnings,
  ]);
  const response: AdmissionResponse = decision.allowed
    ? { uid: request.uid, allowed: true, ...(warnings.length > 0 && { warnings }) }
    : {
        uid: request.uid,
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: denialMessage(decision) },
        ...(warnings.length > 0 && { warnings }),
      };
  return { response, outcome: decision.outcome, reason: decision.reason, request, decision };
}

/** Longest break-glass reason kept (warning and audit line); the rest is cut. */
export const MAX_BREAK_GLASS_REASON = 200;
/**
 * What leaves no mark on screen: controls, format characters (ZWSP, BOM, bidi marks),
 * separators and spaces, combining marks alone, default-ignorables (Hangul fillers) and the
 * blank braille pattern. A reason made only of these says nothing to the auditor.
 */
const INVISIBLE = /[\p{C}\p{Z}\p{M}\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]/gu;

/** The reason shown and logged, or undefined when it has no visible character. */
export function visibleReason(value: string): string | undefined {
  if (value.replace(INVISIBLE, '') === '') return undefined;
  const line = value.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return line.length <= MAX_BREAK_GLASS_REASON
    ? line
    : `${line.slice(0, MAX_BREAK_GLASS_REASON - 1)}…`;
}

function breakGlass(
  annotations: Record<string, unknown>[],
  name: string | undefined,
): { breakGlass?: string; ignored?: true } {
  if (!name) return {};
  let ignored = false;
  for (const a of annotations) {
    const value = Object.hasOwn(a, name) ? a[name] : undefined;
    if (typeof value !== 'string' || value === '') continue;
    const reason = visibleReason(value);
    if (reason) return { breakGlass: reason };
    ignored = true;
  }
  return ignored ? { ignored: true } : {};
}

/** A request we cannot read is denied in enforce mode and admitted with a warning in warn mode. */
function malformed(uid: string | undefined, message: string, mode: Mode): Admission {
  const text = clip(`registry-watcher cannot check this request: ${message}`, MAX_STATUS_MESSAGE);
  if (uid === undefined) {
    return { outcome: 'denied', reason: 'MALFORMED_REQUEST', error: text };
  }
  const response: AdmissionResponse =
    mode === 'warn'
      ? { uid, allowed: true, warnings: [clip(text)] }
      : { uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: text } };
  return {
    response,
    outcome: response.allowed ? 'warned' : 'denied',
    reason: 'MALFORMED_REQUEST',
    error: text,
  };
}
