import { parseDuration } from '../duration';
import type { Reason } from '../verdict';
import { EXCEPTION_WARNING_MS } from './exceptions';
import { listIds, type ManifestFacts, type PreviousEvaluation, type RuleOutcome } from './facts';
import { staleReason } from './scan-age';

/** Recomputed rather than carried: they depend on `now` or on this evaluation. */
const RECOMPUTED = new Set([
  'SCAN_STALE',
  'SCAN_MONITORING_ENDED',
  'RESCAN_PENDING',
  'EXCEPTION_EXPIRING',
  'SIGNATURE_VERIFIED',
  'SIGNATURE_UNVERIFIED',
]);

/**
 * No new scan of a digest judged before: the last judgement stands (DESIGN §9), re-checked
 * only against time (grace deadlines, exception ends, maxScanAge). Only findings fail it.
 */
export function carryJudgement(facts: ManifestFacts, previous: PreviousEvaluation): RuleOutcome {
  const { scan, settings, now } = facts;
  const reasons: Reason[] = [];
  const running: number[] = [];
  const expired: number[] = [];
  const ends: number[] = [];
  for (const { platform, ...r } of previous.reasons ?? []) {
    if (RECOMPUTED.has(r.code)) continue;
    if (facts.platform !== undefined && platform !== undefined && platform !== facts.platform)
      continue;
    const ids = listIds(r.findings ?? []);
    if (r.code === 'GRACE_PERIOD' && r.deadline) {
      const end = Date.parse(r.deadline);
      if (end > now.getTime()) {
        running.push(end);
        reasons.push(r);
      } else {
        expired.push(end);
        reasons.push({
          ...r,
          code: 'GRACE_EXPIRED',
          effect: 'fail',
          message: `remediation deadline passed: ${ids}`,
        });
      }
      continue;
    }
    if (r.code === 'EXCEPTION_APPLIED' && r.exception) {
      const { id, owner, expiresAt } = r.exception;
      const end = Date.parse(expiresAt);
      if (end > now.getTime()) {
        ends.push(end);
        reasons.push(r);
        if (end - now.getTime() <= EXCEPTION_WARNING_MS) {
          reasons.push({
            ...r,
            code: 'EXCEPTION_EXPIRING',
            effect: 'warn',
            message: `exception ${id} (owner ${owner}) expires ${expiresAt}: ${ids}`,
          });
        }
      } else {
        reasons.push(
          {
            ...r,
            code: 'EXCEPTION_EXPIRED',
            effect: 'info',
            message: `exception ${id} (owner ${owner}) expired ${expiresAt} and no longer applies: ${ids}`,
          },
          {
            code: 'VULNERABILITY',
            effect: 'fail',
            message: `findings of the last scan no longer covered by an exception: ${ids}`,
            ...(r.findings && { findings: r.findings }),
          },
        );
      }
      continue;
    }
    reasons.push(r);
  }
  const why = scan.description ? `: ${scan.description}` : '';
  const scanOf = previous.scannedAt ? ` (scan of ${previous.scannedAt})` : '';
  reasons.push({
    code: 'SCAN_MONITORING_ENDED',
    effect: 'warn',
    message: `no new scan (status ${scan.status}${why}); the last judgement${scanOf} stands${scan.remedy ? `. ${scan.remedy}` : ''}`,
  });
  if (!previous.scannedAt) {
    reasons.push({
      code: 'SCAN_STALE',
      effect: 'warn',
      message: `the last usable scan has no known date, so maxScanAge ${settings.maxScanAge} cannot vouch for it`,
    });
  } else if (now.getTime() - Date.parse(previous.scannedAt) > parseDuration(settings.maxScanAge)) {
    reasons.push(staleReason(previous.scannedAt, settings));
  }
  return { reasons, running, expired, ends, scannedAt: previous.scannedAt };
}
