import { DAY_MS } from '../duration';
import { matchesAnyGlob } from '../glob';
import type { ImageKey } from '../image-ref';
import type { Policy, PolicyException } from '../policy';
import type { FindingNote, FindingRule } from './facts';

/** An exception this close to its end turns the verdict to WARN, so its owner hears of it. */
export const EXCEPTION_WARNING_MS = 7 * DAY_MS;

const exceptionIndex = new WeakMap<Policy, Map<string, PolicyException[]>>();

/** Exceptions grouped by upper-case finding id, built once per policy object. */
export function exceptionsById(policy: Policy): Map<string, PolicyException[]> {
  let index = exceptionIndex.get(policy);
  if (!index) {
    index = new Map();
    for (const e of policy.exceptions) {
      const id = e.id.toUpperCase();
      index.set(id, [...(index.get(id) ?? []), e]);
    }
    exceptionIndex.set(policy, index);
  }
  return index;
}

export function exceptionCovers(exception: PolicyException, image: ImageKey): boolean {
  // Both scopes given means both must match: the narrower reading is the safer one.
  if (exception.repositories && !matchesAnyGlob(image.repository, exception.repositories))
    return false;
  if (exception.digests && !exception.digests.includes(image.digest)) return false;
  return true;
}

/** An exception in force clears a blocked finding; a lapsed one is recorded and denies grace. */
export const exceptions: FindingRule = ({ finding, blockedBy }, { exceptions, image, now }) => {
  if (blockedBy.length === 0) return undefined;
  const listed = exceptions.get(finding.id.toUpperCase());
  if (!listed) return undefined;
  const matching = listed.filter((e) => exceptionCovers(e, image));
  // Of several exceptions in force, the one lasting longest: the file's order must not matter.
  const active = matching
    .filter((e) => Date.parse(e.expiresAt) > now.getTime())
    .reduce<PolicyException | undefined>(
      (best, e) => (!best || Date.parse(e.expiresAt) > Date.parse(best.expiresAt) ? e : best),
      undefined,
    );
  if (active) {
    const exception = { id: active.id, owner: active.owner, expiresAt: active.expiresAt };
    const end = Date.parse(active.expiresAt);
    const notes: FindingNote[] = [
      {
        key: `EXCEPTION_APPLIED#${active.id}`,
        reason: {
          code: 'EXCEPTION_APPLIED',
          effect: 'info',
          message: `exception by ${active.owner} until ${active.expiresAt} (${active.reason})`,
          exception,
        },
      },
    ];
    if (end - now.getTime() <= EXCEPTION_WARNING_MS) {
      notes.push({
        key: `EXCEPTION_EXPIRING#${active.id}`,
        reason: {
          code: 'EXCEPTION_EXPIRING',
          effect: 'warn',
          message: `exception ${active.id} (owner ${active.owner}) expires ${active.expiresAt}`,
          exception,
        },
      });
    }
    return { notes, end, blocking: false };
  }
  const lapsed = matching[0];
  if (!lapsed) return undefined;
  return {
    notes: [
      {
        key: `EXCEPTION_EXPIRED#${lapsed.id}`,
        reason: {
          code: 'EXCEPTION_EXPIRED',
          effect: 'info',
          message: `exception ${lapsed.id} (owner ${lapsed.owner}) expired ${lapsed.expiresAt} and no longer applies`,
          exception: { id: lapsed.id, owner: lapsed.owner, expiresAt: lapsed.expiresAt },
        },
      },
    ],
    lapsed: true,
  };
};
