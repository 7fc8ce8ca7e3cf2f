import { evaluate } from './evaluate';
import type { FindingsFacts } from './findings-facts';
import { scanOfFacts } from './findings-facts';
import type { FleetRecord } from './fleet-record';
import { imageId } from './image-ref';
import type { Policy } from './policy';
import type { VerdictValue } from './verdict';
import { previousEvaluation } from './verdict-record';

/** One digest whose verdict the candidate policy would change. */
export interface VerdictChange {
  image: string;
  repository: string;
  tags: string[];
  from: VerdictValue;
  to: VerdictValue;
  /** Codes of the reasons that shape the new verdict (info ones left out). */
  reasons: string[];
}

/**
 * The verdict `policy` would give a stored record, judged again from the facts it names
 * (one per judged manifest), as the nightly run would judge it from the same scans.
 */
export function replay(
  record: FleetRecord,
  facts: readonly FindingsFacts[],
  policy: Policy,
  now: Date,
): VerdictChange | undefined {
  const scans = facts.map((f) => ({ digest: f.key.digest, scan: scanOfFacts(f) }));
  const single = scans.length === 1 && scans[0]?.digest === record.digest ? scans[0] : undefined;
  const evaluation = evaluate({
    image: record,
    ...(single
      ? { scan: single.scan }
      : // Platform names are not stored with the facts: the manifest digest stands in.
        { platforms: scans.map((s) => ({ ...s, platform: s.digest.slice(0, 19) })) }),
    ...(record.signature && { signature: record.signature }),
    // Judged from complete scans: evaluate reads no previous top findings (fleet-record.ts).
    previous: previousEvaluation({ ...record, topFindings: [] }),
    policy,
    now,
    verdictOnly: true,
  });
  if (evaluation.verdict === record.verdict) return undefined;
  return {
    image: imageId(record),
    repository: `${record.registry}/${record.repository}`,
    tags: record.tags,
    from: record.verdict,
    to: evaluation.verdict,
    reasons: [...new Set(evaluation.reasons.filter((r) => r.effect !== 'info').map((r) => r.code))],
  };
}

export interface WhatIfReport {
  policyHash: string;
  /** Current (not deleted) digests read. */
  digests: number;
  replayed: number;
  changed: number;
  /** Digests with no stored facts to judge from (never scanned, pending, or judged before facts were kept). */
  notReplayable: number;
  byTransition: { transition: string; count: number }[];
  byRepository: { repository: string; count: number }[];
  byReason: { reason: string; count: number }[];
  changes: VerdictChange[];
}

function counted<K extends string>(name: K, values: Iterable<string>) {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([value, count]) => ({ [name]: value, count }) as Record<K, string> & { count: number });
}

/** The changes grouped by transition, repository and reason, largest group first. */
export function whatIfReport(
  changes: VerdictChange[],
  totals: { policyHash: string; digests: number; replayed: number; notReplayable: number },
): WhatIfReport {
  const sorted = [...changes].sort((a, b) => (a.image < b.image ? -1 : 1));
  return {
    ...totals,
    changed: changes.length,
    byTransition: counted(
      'transition',
      changes.map((c) => `${c.from} → ${c.to}`),
    ),
    byRepository: counted(
      'repository',
      changes.map((c) => c.repository),
    ),
    byReason: counted(
      'reason',
      changes.flatMap((c) => (c.reasons.length ? c.reasons : ['(none)'])),
    ),
    changes: sorted,
  };
}
