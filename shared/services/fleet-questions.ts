import type { FactsRef, FindingsFacts } from '../domain/findings-facts';
import type { FleetRecord } from '../domain/fleet-record';
import { mayMatch, type SearchHit, type SearchQuery, searchFacts } from '../domain/fleet-search';
import { imageId } from '../domain/image-ref';
import type { Policy } from '../domain/policy';
import { replay, type VerdictChange, type WhatIfReport, whatIfReport } from '../domain/what-if';
import type { FleetItem, FleetScan } from '../ports/questions';

interface Pending {
  record: FleetRecord;
  refs: FactsRef[];
  /** refKey of each ref, in the record's order. */
  keys: string[];
  got: Map<string, FindingsFacts>;
}

const factsKey = (id: string, scanner: string, completedAt: string) =>
  `${id}#${scanner}#${completedAt}`;

const refKey = (record: FleetRecord, ref: FactsRef) =>
  factsKey(imageId({ ...record, digest: ref.digest }), ref.scanner, ref.completedAt);

/**
 * Every current (not deleted) record with the facts its verdict names, from one read of the
 * fleet, joined as they come. A digest's facts follow its verdict in the read, so each facts
 * entry is decoded when it arrives, for the records waiting on it, and dropped. Entries of a
 * manifest with no verdict of its own (an index's platform) are kept undecoded until the
 * end, as a later index may name them. A verdict whose facts came before it (not in the
 * order above) has them read one by one at the end.
 */
async function* currentWithFacts(
  fleet: FleetScan,
  totals: { digests: number; notReplayable: number },
  keep?: (encoded: string) => boolean,
): AsyncGenerator<{ record: FleetRecord; facts: FindingsFacts[] }> {
  const waiting = new Map<string, Pending[]>();
  const pending = new Set<Pending>();
  const kept = new Map<string, Extract<FleetItem, { kind: 'facts' }>>();
  const judged = new Set<string>();
  const done = (entry: Pending) => entry.keys.every((k) => entry.got.has(k));
  const joined = (entry: Pending) => ({
    record: entry.record,
    facts: entry.keys.flatMap((k) => entry.got.get(k) ?? []),
  });
  for await (const page of fleet.pages()) {
    for (const item of page) {
      if (item.kind === 'verdict') {
        const { record } = item;
        if (record.deletedAt) continue;
        totals.digests += 1;
        judged.add(imageId(record));
        const refs = record.facts ?? [];
        if (refs.length === 0) {
          totals.notReplayable += 1;
          continue;
        }
        const keys = refs.map((ref) => refKey(record, ref));
        const entry: Pending = { record, refs, keys, got: new Map() };
        for (const [n, key] of keys.entries()) {
          if (entry.got.has(key)) continue;
          const held = kept.get(key);
          if (!held) {
            if (!waiting.get(key)?.includes(entry))
              waiting.set(key, [...(waiting.get(key) ?? []), entry]);
            continue;
          }
          entry.got.set(key, await held.load(keep));
          // A digest's own facts are named by it alone (an index naming it as a platform
          // too reads them one by one at the end): not held for the rest of the read.
          if (refs[n]?.digest === record.digest) kept.delete(key);
        }
        if (done(entry)) yield joined(entry);
        else pending.add(entry);
        continue;
      }
      const id = imageId(item.key);
      const key = factsKey(id, item.scanner, item.completedAt);
      if (!judged.has(id)) kept.set(key, item);
      const entries = waiting.get(key);
      if (!entries) continue;
      waiting.delete(key);
      const facts = await item.load(keep);
      for (const entry of entries) {
        entry.got.set(key, facts);
        if (!done(entry)) continue;
        pending.delete(entry);
        yield joined(entry);
      }
    }
  }
  for (const entry of pending) {
    for (const [n, ref] of entry.refs.entries()) {
      const key = entry.keys[n] ?? '';
      if (entry.got.has(key)) continue;
      const facts = await fleet.facts({ ...entry.record, digest: ref.digest }, ref);
      if (facts) entry.got.set(key, facts);
    }
    // Facts a verdict names may be gone (deleted by hand, or a write that failed between).
    if (done(entry)) yield joined(entry);
    else totals.notReplayable += 1;
  }
}

/** `what-if --policy NEW.yaml`: every current verdict judged again under `policy`; writes nothing. */
export async function whatIf(fleet: FleetScan, policy: Policy, now: Date): Promise<WhatIfReport> {
  const totals = { digests: 0, notReplayable: 0 };
  const changes: VerdictChange[] = [];
  let replayed = 0;
  for await (const { record, facts } of currentWithFacts(fleet, totals)) {
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
export async function searchFleet(fleet: FleetScan, query: SearchQuery): Promise<SearchResult> {
  const hits: SearchHit[] = [];
  const totals = { digests: 0, notReplayable: 0 };
  const keep = (encoded: string) => mayMatch(encoded, query);
  for await (const { record, facts } of currentWithFacts(fleet, totals, keep)) {
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
