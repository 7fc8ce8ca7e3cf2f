import type { FindingRule } from './facts';

/**
 * `onlyFixable: true` clears a blocked finding the scanner says has no fix. An unknown fix
 * status (basic scanning) still counts: fail-safe.
 */
export const onlyFixable: FindingRule = ({ finding, blockedBy }, { settings }) =>
  blockedBy.length > 0 && settings.block.onlyFixable && finding.fixAvailable === false
    ? {
        notes: [
          {
            key: 'UNFIXED_IGNORED',
            reason: {
              code: 'UNFIXED_IGNORED',
              effect: 'info',
              message: 'findings without an available fix are ignored (onlyFixable: true)',
            },
          },
        ],
        blocking: false,
      }
    : undefined;
