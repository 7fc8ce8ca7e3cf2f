import type { FindingsFacts } from '../domain/findings-facts';
import { type SearchHit, type SearchQuery, searchFacts } from '../domain/fleet-search';
import { imageId } from '../domain/image-ref';
import type { Policy } from '../domain/policy';
import type { VerdictRecord } from '../domain/verdict-record';
import { replay, type VerdictChange, type WhatIfReport, whatIfReport } from '../domain/what-if';
import type { FindingsFactsStore } from '../ports';
import type { CurrentVerdicts } from '../ports/publishing';

/** What what-if and search read: every CURRENT verdict, and the stored facts. */
export interface FleetPorts {
  verdicts: CurrentVerdicts;
  facts: Pick<FindingsFactsStore, 'pages'>;
}

interface Pending {
  record: VerdictRecord;
  needed: number;
  got: FindingsFacts[];
}

const factsKey = (id: string, scanner: string, completedAt: string) =>
  `${id}#${scanner}#${completedAt}`;

/**
 * Every current (not deleted) record with the facts its verdict names, streamed as the
 * facts Scan finds them: records are held (they are small), facts only until their record
 * is complete. Older scans' facts, which no current verdict names, are skipped.
 */
async function* currentWithFacts(
  ports: FleetPorts,
  totals: { digests: number; notReplayable: number },
): AsyncGenerator<{ record: VerdictRecord; facts: FindingsFacts[] }> {
  const waiting = new Map<string, Pending[]>();
  const pending = new Set<Pending>();
  for await (const page of ports.verdicts.pages()) {
    for (const record of page) {
      if (record.deletedAt) continue;
      totals.digests += 1;
      const refs = record.facts ?? [];
      if (refs.length === 0) {
        totals.notReplayable += 1;
        continue;
      }
      const entry: Pending = { record, needed: refs.length, got: [] };
      pending.add(entry);
      for (const ref of refs) {
        const id = imageId({ ...record, digest: ref.digest });
        const key = factsKey(id, ref.scanner, ref.completedAt);
        waiting.set(key, [...(waiting.get(key) ?? []), entry]);
      }
    }
  }
  for await (const page of ports.facts.pages()) {
    for (const facts of page) {
      const key = factsKey(imageId(facts.key), facts.scanner, facts.completedAt);
      for (const entry of waiting.get(key) ?? []) {
        entry.got.push(facts);
        if (entry.got.length === entry.needed) {
          pending.delete(entry);
          yield { record: entry.record, facts: entry.got };
        }
      }
      waiting.delete(key);
    }
  }
  // A verdict naming facts that are gone (deleted by hand, or a write that failed between).
  totals.notReplayable += pending.size;
}

/** `what-if --policy NEW.yaml`: every current verdict judged again under `policy`; writes nothing. */
export async function whatIf(ports: FleetPorts, policy: Policy, now: Date): Promise<WhatIfReport> {
  const totals = { digests: 0, notReplayable: 0 };
  const changes: VerdictChange[] = [];
  let replayed = 0;
  for await (const { record, facts } of currentWithFacts(ports, totals)) {
    replayed += 1;
    const change = replay(record, facts, policy, now);
    if (change) changes.push(change);
  }
  return whatIfReport(changes, { policyHash: policy.hash, replayed, ...totals });
}

export interface SearchResult {
  query: SearchQuery;
  digests: number;
  repositories: number;
  hits: SearchHit[];
}

/** `search CVE-… | --package NAME[@VERSION]`: where the current verdicts' facts carry it. */
export async function searchFleet(ports: FleetPorts, query: SearchQuery): Promise<SearchResult> {
  const hits: SearchHit[] = [];
  const totals = { digests: 0, notReplayable: 0 };
  for await (const { record, facts } of currentWithFacts(ports, totals)) {
    for (const f of facts) hits.push(...searchFacts(record, f, query));
  }
  hits.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
  return {
    query,
    digests: new Set(hits.map((h) => h.image)).size,
    repositories: new Set(hits.map((h) => h.repository)).size,
    hits,
  };
}
