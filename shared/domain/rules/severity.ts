import type { RuleSettings } from '../policy';
import { atLeast } from '../severity';
import type { BlockingRule, FindingRule } from './facts';

/** `block.severity` and `block.maxCvss`. */
export const severity: FindingRule = ({ finding }, { settings: { block } }) => {
  const blocks: BlockingRule[] = [];
  if (atLeast(finding.severity, block.severity)) blocks.push('VULNERABILITY');
  const limit = block.maxCvss;
  if (limit !== undefined && finding.cvss && finding.cvss.score >= limit) blocks.push('CVSS_LIMIT');
  return blocks.length > 0 ? { blocks } : undefined;
};

export const SEVERITY_MESSAGES = {
  VULNERABILITY: (s: RuleSettings) => `findings at or above ${s.block.severity}`,
  CVSS_LIMIT: (s: RuleSettings) => `findings with CVSS >= ${s.block.maxCvss}`,
} satisfies Partial<Record<BlockingRule, (settings: RuleSettings) => string>>;
