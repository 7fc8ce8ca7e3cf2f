/**
 * bench/facts sections for the questions: a fleet of N digests (default 100,000; `--digests N`)
 * written to dynalite as evaluate leaves them (CURRENT item naming its facts, facts item
 * beside it), then `what-if` and `search` timed through the same composition root the CLI uses.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { factsItems } from '../../shared/adapters/aws/dynamodb-findings-facts';
import { currentItem } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { withQuestions } from '../../shared/composition/questions';
import { evaluate } from '../../shared/domain/evaluate';
import type { FindingsFacts } from '../../shared/domain/findings-facts';
import type { Policy } from '../../shared/domain/policy';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { draftFrom, planWrite } from '../../shared/domain/verdict-record';
import { searchFleet, whatIf } from '../../shared/services/fleet-questions';
import { keyOf } from '../../test/support/builders';
import type { LocalDynamo } from '../../test/support/dynalite';
import { inspectorFindings } from './facts-fleet';
import { fmt } from './measure';

/** What bench/facts gives each section (declared here: importing it back would be a cycle). */
interface FactsBenchContext {
  dynamo: LocalDynamo & { serverCpuSeconds?(): number | undefined };
  tableName: string;
  args: string[];
}

const NOW = new Date('2026-11-23T09:00:00.000Z');
const policy = (severity: string, extra = '') =>
  parsePolicy(
    `apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  block: { severity: ${severity}${extra} }\n`,
    'bench.yaml',
  );
/**
 * The candidate: unfixed findings ignored. Every generated digest has CRITICALs, so a
 * stricter severity would change nothing; this one frees the digests whose CRITICALs all
 * lack a fix (about one in nine), so the replay also groups real changes.
 */
const CANDIDATE = policy('CRITICAL', ', onlyFixable: true');

function digestsOf(args: string[]): number {
  const i = args.indexOf('--digests');
  return i >= 0 ? Number(args[i + 1]) : 100_000;
}

/** The items evaluate leaves for digest `n`: its facts items (head, parts) and its CURRENT item. */
function digestItems(n: number, perDigest: number, base: Policy): Record<string, unknown>[] {
  const key = keyOf(`fleet/repo-${n % 500}`, n + 1_000_000);
  const stored: FindingsFacts = {
    key,
    scanner: 'inspector',
    completedAt: '2026-11-22T10:00:00.000Z',
    status: 'ACTIVE',
    findings: inspectorFindings(perDigest, n % 997),
  };
  const { ref, items } = factsItems(stored);
  const scan = {
    state: 'complete' as const,
    status: 'ACTIVE',
    scanner: 'inspector' as const,
    completedAt: stored.completedAt,
    findings: stored.findings,
  };
  const e = evaluate({ image: key, scan, policy: base, now: NOW });
  const { findings: _f, ...summary } = scan;
  const draft = draftFrom({ key, tags: [`1.${n}`] }, summary, e, undefined, undefined);
  const record = { ...planWrite(undefined, draft).record, facts: [ref] };
  return [...items, currentItem(imagePartitionKey(key), record)];
}

/** Written by BatchWriteItem, 8 requests in flight: filling is not what is measured. */
async function fill(ctx: FactsBenchContext, digests: number, perDigest: number): Promise<void> {
  const base = policy('CRITICAL');
  const write = async (items: Record<string, unknown>[]) => {
    let unprocessed = items.map((Item) => ({ PutRequest: { Item } }));
    while (unprocessed.length > 0) {
      const out = await ctx.dynamo.documents.send(
        new BatchWriteCommand({ RequestItems: { [ctx.tableName]: unprocessed } }),
      );
      unprocessed = (out.UnprocessedItems?.[ctx.tableName] ?? []) as typeof unprocessed;
    }
  };
  let next = 0;
  const lane = async () => {
    let batch: Record<string, unknown>[] = [];
    while (next < digests || batch.length > 0) {
      if (next < digests) batch.push(...digestItems(next++, perDigest, base));
      if (batch.length >= 25 || (next >= digests && batch.length > 0)) {
        await write(batch.slice(0, 25));
        batch = batch.slice(25);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/** what-if and search over the whole fleet, timed end to end (table read included). */
export async function fleetQuestions(ctx: FactsBenchContext): Promise<void> {
  const digests = digestsOf(ctx.args);
  const perDigest = 10;
  const filling = performance.now();
  await fill(ctx, digests, perDigest);
  console.log(
    `fleet: ${digests.toLocaleString('en')} digests in 500 repositories, ${perDigest} Inspector findings each, written in ${fmt((performance.now() - filling) / 1000, 1)} s`,
  );
  const table = { tableName: ctx.tableName, endpoint: ctx.dynamo.endpoint, where: 'dynalite' };
  // Wall time, the client's CPU (this process) and dynalite's (its process), per question.
  const timed = async <T>(question: () => Promise<T>) => {
    const [wall, cpu, server] = [
      performance.now(),
      process.cpuUsage(),
      ctx.dynamo.serverCpuSeconds?.(),
    ];
    const result = await question();
    const used = process.cpuUsage(cpu);
    const serverAfter = ctx.dynamo.serverCpuSeconds?.();
    return {
      result,
      seconds: (performance.now() - wall) / 1000,
      client: (used.user + used.system) / 1e6,
      server: server === undefined || serverAfter === undefined ? Number.NaN : serverAfter - server,
    };
  };
  const split = (t: { client: number; server: number }) =>
    `client CPU ${fmt(t.client, 1)} s, dynalite CPU ${fmt(t.server, 1)} s`;
  await withQuestions(table, async ({ fleet }) => {
    const w = await timed(() => whatIf(fleet, CANDIDATE, NOW));
    const report = w.result;
    console.log(
      `what-if (onlyFixable: true): ${report.replayed.toLocaleString('en')} replayed, ${report.changed.toLocaleString('en')} would change (${report.byTransition.map((t) => `${t.transition} ${t.count}`).join(', ')}) in ${fmt(w.seconds, 1)} s (${split(w)})`,
    );
    const id = inspectorFindings(1, 0)[0]?.id ?? '';
    const s = await timed(() => searchFleet(fleet, { kind: 'finding', id }));
    console.log(
      `search ${id}: ${s.result.digests.toLocaleString('en')} digests in ${s.result.repositories} repositories in ${fmt(s.seconds, 1)} s (${split(s)})`,
    );
    const load = loadavg()
      .map((l) => fmt(l, 2))
      .join(' ');
    console.log(
      `ratio what-if seconds / 30 s goal ${fmt(w.seconds / 30, 2)} (what-if ${fmt(w.seconds, 1)} s, search ${fmt(s.seconds, 1)} s at ${digests.toLocaleString('en')} digests on dynalite, load average ${load})`,
    );
  });
}
