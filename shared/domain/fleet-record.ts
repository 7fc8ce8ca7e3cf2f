import type { VerdictRecord } from './verdict-record';

/**
 * What what-if and search read of a CURRENT record; the fleet Scan asks for these attributes
 * only. `topFindings` and `blocking` are left out: evaluate reads them from the previous
 * verdict only when it carries a judgement (no complete scan), and a replay from stored
 * facts always has complete scans. Together they are most of a CURRENT item's bytes.
 */
export const FLEET_RECORD_ATTRIBUTES = [
  'registry',
  'repository',
  'digest',
  'tags',
  'scan',
  'verdict',
  'reasons',
  'severityCounts',
  'maxSeverity',
  'findingClock',
  'deadline',
  'expiresAt',
  'admittedAt',
  'scannedAt',
  'signature',
  'facts',
  'deletedAt',
] as const satisfies readonly (keyof VerdictRecord)[];

export type FleetRecord = Pick<VerdictRecord, (typeof FLEET_RECORD_ATTRIBUTES)[number]>;
