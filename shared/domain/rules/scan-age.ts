import { parseDuration } from '../duration';
import type { RuleSettings } from '../policy';
import type { Reason } from '../verdict';
import type { ManifestRule } from './facts';

export function staleReason(completedAt: string, settings: RuleSettings): Reason {
  return {
    code: 'SCAN_STALE',
    effect: 'warn',
    message: `the last scan finished ${completedAt}, older than maxScanAge ${settings.maxScanAge}`,
  };
}

/** Findings older than `maxScanAge` still judge the image, but the verdict says so (WARN). */
export const scanAge: ManifestRule = ({ scan, settings, now }) => {
  if (!scan.completedAt) return undefined;
  const age = now.getTime() - Date.parse(scan.completedAt);
  return age > parseDuration(settings.maxScanAge)
    ? { reasons: [staleReason(scan.completedAt, settings)] }
    : undefined;
};
