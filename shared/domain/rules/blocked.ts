import type { RuleSettings } from '../policy';
import { EXPLOITABILITY_MESSAGES } from './exploitability';
import type { BlockingRule, FindingRule } from './facts';
import { SEVERITY_MESSAGES } from './severity';

const MESSAGES: Record<BlockingRule, (settings: RuleSettings) => string> = {
  ...EXPLOITABILITY_MESSAGES,
  ...SEVERITY_MESSAGES,
};

/** Last: a finding still blocked after exceptions and grace fails the image, named by its first rule. */
export const blocked: FindingRule = ({ blockedBy }, { settings }) => {
  const rule = blockedBy[0];
  if (rule === undefined) return undefined;
  return {
    blocking: true,
    notes: [
      { key: rule, reason: { code: rule, effect: 'fail', message: MESSAGES[rule](settings) } },
    ],
  };
};
