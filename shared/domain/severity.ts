/**
 * Severities from lowest to highest. UNDEFINED covers ECR's UNDEFINED and Inspector's
 * UNTRIAGED: it ranks below INFORMATIONAL (as Harbor ranks "Unknown" below "Low"), so
 * it never blocks by severity alone; `maxCvss` still catches it when a score exists.
 */
export const SEVERITIES = [
  'UNDEFINED',
  'INFORMATIONAL',
  'LOW',
  'MEDIUM',
  'HIGH',
  'CRITICAL',
] as const;
export type Severity = (typeof SEVERITIES)[number];

const RANK: Record<Severity, number> = {
  UNDEFINED: 0,
  INFORMATIONAL: 1,
  LOW: 2,
  MEDIUM: 3,
  HIGH: 4,
  CRITICAL: 5,
};

export function severityRank(severity: Severity): number {
  return RANK[severity];
}

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] >= RANK[threshold];
}

/** Maps any scanner's spelling (UNTRIAGED, Medium, NONE, ...) onto our scale. */
export function normaliseSeverity(value: string | undefined): Severity {
  const upper = (value ?? '').toUpperCase();
  if (upper === 'MODERATE') return 'MEDIUM';
  if (upper === 'IMPORTANT') return 'HIGH';
  if (upper === 'NONE' || upper === 'NEGLIGIBLE') return 'INFORMATIONAL';
  return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : 'UNDEFINED';
}

export type SeverityCounts = Record<Severity, number>;

export function emptySeverityCounts(): SeverityCounts {
  return { UNDEFINED: 0, INFORMATIONAL: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
}

export function maxSeverity(severities: Iterable<Severity>): Severity | undefined {
  let max: Severity | undefined;
  for (const s of severities) if (max === undefined || RANK[s] > RANK[max]) max = s;
  return max;
}
