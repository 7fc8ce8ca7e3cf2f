import type { Reason } from '../verdict';
import { isKnownExploited } from './exploitability';
import {
  type BlockingRule,
  type FindingFacts,
  type FindingRule,
  type JudgedFinding,
  listIds,
  type ManifestRule,
} from './facts';

/**
 * Runs the finding rules over each finding of the scan, in order, until one settles it;
 * notes are grouped by key across findings, so one reason lists every finding it is about.
 */
export function findingsRule(rules: readonly FindingRule[]): ManifestRule {
  return (facts) => {
    const groups = new Map<string, { reason: Omit<Reason, 'findings'>; findings: Set<string> }>();
    const judged: JudgedFinding[] = [];
    const clock = new Map<string, string>();
    const running: number[] = [];
    const expired: number[] = [];
    const ends: number[] = [];
    for (const finding of facts.scan.findings) {
      const exploited = isKnownExploited(finding, facts.knownExploited);
      const blockedBy: BlockingRule[] = [];
      const seen: FindingFacts = { finding, exploited, blockedBy, lapsed: false };
      let blocking = false;
      for (const rule of rules) {
        const step = rule(seen, facts);
        if (!step) continue;
        if (step.blocks) blockedBy.push(...step.blocks);
        if (step.lapsed) seen.lapsed = true;
        for (const { key, reason } of step.notes ?? []) {
          let group = groups.get(key);
          if (!group) {
            group = { reason, findings: new Set() };
            groups.set(key, group);
          }
          group.findings.add(finding.id);
        }
        if (step.firstSeen !== undefined) clock.set(finding.id, step.firstSeen);
        if (step.running !== undefined) running.push(step.running);
        if (step.expired !== undefined) expired.push(step.expired);
        if (step.end !== undefined) ends.push(step.end);
        if (step.blocking !== undefined) {
          blocking = step.blocking;
          break;
        }
      }
      judged.push({ finding, blocking, ...(exploited && { exploited }) });
    }
    const reasons: Reason[] = [];
    for (const { reason, findings } of groups.values()) {
      const ids = [...findings];
      reasons.push({ ...reason, message: `${reason.message}: ${listIds(ids)}`, findings: ids });
    }
    return { reasons, judged, clock, running, expired, ends };
  };
}
