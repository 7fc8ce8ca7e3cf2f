import type { Finding } from '../findings';
import { type GraceClass, graceMs, type RuleSettings } from '../policy';
import type { BlockingRule, FindingRule } from './facts';

/**
 * The grace a blocked finding gets: the shortest over the classes that block it (severity
 * rules use the finding's severity; `exploited`/`epss` their own entry, else the severity's).
 * A class without grace means none: the strictest rule wins.
 */
export function graceOf(
  finding: Finding,
  rules: readonly BlockingRule[],
  settings: RuleSettings,
): { ms: number; label: string } | undefined {
  let best: { ms: number; label: string } | undefined;
  for (const rule of rules) {
    const key: GraceClass =
      rule === 'EXPLOITED' && settings.grace.exploited !== undefined
        ? 'exploited'
        : rule === 'EPSS_LIMIT' && settings.grace.epss !== undefined
          ? 'epss'
          : finding.severity;
    const ms = graceMs(settings, key);
    if (ms === undefined) return undefined;
    if (!best || ms < best.ms) {
      best = { ms, label: key === 'exploited' ? 'exploited' : key === 'epss' ? 'high-EPSS' : key };
    }
  }
  return best;
}

/**
 * A remediation deadline for a CVE found on a digest already in use (admitted, or graced
 * before), counted from when it was first seen. Not for a lapsed exception.
 */
export const grace: FindingRule = ({ finding, blockedBy, lapsed }, facts) => {
  if (blockedBy.length === 0 || lapsed) return undefined;
  const { now, previousClock } = facts;
  const given = graceOf(finding, blockedBy, facts.settings);
  if (given === undefined || !(facts.previousAdmitted || previousClock.has(finding.id))) {
    return undefined;
  }
  const firstSeen = previousClock.get(finding.id) ?? now.toISOString();
  const deadline = Date.parse(firstSeen) + given.ms;
  const deadlineIso = new Date(deadline).toISOString();
  if (now.getTime() < deadline) {
    return {
      firstSeen,
      running: deadline,
      blocking: true,
      notes: [
        {
          key: `GRACE_PERIOD#${deadlineIso}`,
          reason: {
            code: 'GRACE_PERIOD',
            effect: 'warn',
            message: `remediation deadline ${deadlineIso} for ${given.label} findings on an admitted digest`,
            deadline: deadlineIso,
          },
        },
      ],
    };
  }
  return {
    firstSeen,
    expired: deadline,
    blocking: true,
    notes: [
      {
        key: 'GRACE_EXPIRED',
        reason: {
          code: 'GRACE_EXPIRED',
          effect: 'fail',
          message: 'remediation deadline passed',
          deadline: deadlineIso,
        },
      },
    ],
  };
};
