import type { RuleSettings } from '../policy';
import type { ReasonEffect } from '../verdict';
import { carryJudgement } from './carried-judgement';
import type { ImageRule, ManifestRule } from './facts';

/** What `unscanned: deny | warn | allow` does to the verdict. */
export const UNSCANNED_EFFECT: Record<RuleSettings['unscanned'], ReasonEffect> = {
  deny: 'fail',
  warn: 'warn',
  allow: 'info',
};

/**
 * No usable scan ends the manifest's judgement here: a running scan is PENDING, a scan that
 * stopped on a digest judged before keeps that judgement, anything else is `unscanned`.
 */
export const scanState: ManifestRule = (facts) => {
  const { scan, settings } = facts;
  if (scan.state === 'in-progress') {
    return {
      reasons: [
        {
          code: 'SCAN_PENDING',
          effect: 'pending',
          message: `the scan is ${scan.status.toLowerCase()}`,
        },
      ],
      rescanning: true,
      final: true,
    };
  }
  if (scan.state === 'monitoring-ended' && facts.judgedBefore) {
    return { ...carryJudgement(facts, facts.judgedBefore), carried: true, final: true };
  }
  if (scan.state === 'unscanned' || scan.state === 'monitoring-ended') {
    const why = scan.description ? `: ${scan.description}` : '';
    return {
      reasons: [
        {
          code: 'UNSCANNED',
          effect: UNSCANNED_EFFECT[settings.unscanned],
          message: `no usable scan (status ${scan.status}${why}); policy unscanned: ${settings.unscanned}${scan.remedy ? `. ${scan.remedy}` : ''}`,
        },
      ],
      final: true,
    };
  }
  return { scannedAt: scan.completedAt };
};

/** An image index with no platform manifest has nothing to scan: `unscanned` decides. */
export const noPlatforms: ImageRule = ({ manifests, settings }) =>
  manifests > 0
    ? undefined
    : {
        reasons: [
          {
            code: 'NO_PLATFORMS',
            effect: UNSCANNED_EFFECT[settings.unscanned],
            message: `the image index lists no platform manifest to scan (policy unscanned: ${settings.unscanned})`,
          },
        ],
      };
