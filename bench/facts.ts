/**
 * bench/facts: what the findings facts of one digest cost in the verdict table (dynalite),
 * for 1, 100 and 1,000 Inspector findings: the stored item's bytes by DynamoDB's size rules,
 * side by side with the findings as plain JSON (what a naive attribute would hold) and with
 * the write capacity dynalite charges for the item.
 *
 *   npm run bench -- facts [--sizes 1,100,1000] [--digests 100000]
 *
 * then what-if and search over a fleet of --digests digests (bench/support/questions-fleet.ts),
 * with the client's and dynalite's CPU seconds beside the wall time.
 *
 * Sections run in order on one table; add one to SECTIONS to measure more on the same data.
 */

import { performance } from 'node:perf_hooks';
import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDbFindingsFacts,
  factsSortKey,
} from '../shared/adapters/aws/dynamodb-findings-facts';
import { fleetRecordBytes } from '../shared/adapters/aws/fleet-item';
import { imagePartitionKey } from '../shared/adapters/aws/verdict-table';
import { evaluate } from '../shared/domain/evaluate';
import {
  encodeFindings,
  type FactsRef,
  type FindingsFacts,
  scanOfFacts,
} from '../shared/domain/findings-facts';
import { parsePolicy } from '../shared/domain/policy-yaml';
import { draftFrom, planWrite } from '../shared/domain/verdict-record';
import { keyOf } from '../test/support/builders';
import type { LocalDynamo } from '../test/support/dynalite';
import { startDynaliteProcess } from './support/dynalite-process';
import { inspectorFindings } from './support/facts-fleet';
import { fmt } from './support/measure';
import { fleetQuestions } from './support/questions-fleet';

export interface FactsBenchContext {
  dynamo: LocalDynamo & { serverCpuSeconds?(): number | undefined };
  tableName: string;
  args: string[];
}

/** Item size as DynamoDB counts it: attribute names plus values (numbers approximated). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + name.length + valueBytes(value),
    0,
  );
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L) return 3 + value.L.reduce((s, v) => s + 1 + valueBytes(v), 0);
  if (value.M)
    return 3 + Object.entries(value.M).reduce((s, [k, v]) => s + 1 + k.length + valueBytes(v), 0);
  return 0;
}

/** The compact record `q` the verdict judged on these facts carries into the fleet index. */
function verdictQBytes(facts: FindingsFacts, ref: FactsRef): number {
  const scan = scanOfFacts(facts);
  const now = new Date('2026-11-23T09:00:00.000Z');
  const policy = parsePolicy(
    'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  block: { severity: CRITICAL }\n',
    'bench.yaml',
  );
  const e = evaluate({ image: facts.key, scan, policy, now });
  const { findings: _f, ...summary } = scan;
  const draft = draftFrom({ key: facts.key, tags: ['1.0'] }, summary, e, undefined, undefined);
  return fleetRecordBytes({ ...planWrite(undefined, draft).record, facts: [ref] })?.length ?? 0;
}

async function bytesPerDigest(ctx: FactsBenchContext): Promise<void> {
  const i = ctx.args.indexOf('--sizes');
  const sizes = (i >= 0 ? (ctx.args[i + 1] ?? '') : '1,100,1000').split(',').map(Number);
  const store = new DynamoDbFindingsFacts({
    tableName: ctx.tableName,
    client: ctx.dynamo.documents,
  });
  console.log(
    'findings  stored item B  per finding  plain JSON B  encoded text B  WCU (dynalite: stored | plain)  put ms  verdict q B',
  );
  let last = { stored: 0, plain: 0 };
  for (const [n, count] of sizes.entries()) {
    const key = keyOf('bench/facts', n + 1);
    const facts: FindingsFacts = {
      key,
      scanner: 'inspector',
      completedAt: '2026-11-22T10:00:00.000Z',
      status: 'ACTIVE',
      vulnerabilitySourceUpdatedAt: '2026-11-22T09:00:00.000Z',
      findings: inspectorFindings(count, n),
    };
    const start = performance.now();
    const ref = await store.put(facts);
    const putMs = performance.now() - start;
    const pk = imagePartitionKey(key);
    const read = await ctx.dynamo.client.send(
      new GetItemCommand({
        TableName: ctx.tableName,
        Key: { pk: { S: pk }, sk: { S: factsSortKey(ref) } },
      }),
    );
    const stored = itemBytes(read.Item ?? {});
    // The naive layout: the normalised findings as one JSON string attribute.
    const plainItem: Record<string, AttributeValue> = {
      pk: { S: pk },
      sk: { S: `PLAIN#${ref.completedAt}` },
      findings: { S: JSON.stringify(facts.findings) },
    };
    const plain = itemBytes(plainItem);
    const wcu = async (item: Record<string, AttributeValue>) =>
      plain > 400_000 && item === plainItem
        ? Number.NaN
        : ((
            await ctx.dynamo.client.send(
              new PutItemCommand({
                TableName: ctx.tableName,
                Item: item,
                ReturnConsumedCapacity: 'TOTAL',
              }),
            )
          ).ConsumedCapacity?.CapacityUnits ?? Number.NaN);
    const storedWcu = await wcu({ ...(read.Item ?? {}), sk: { S: `COPY#${ref.completedAt}` } });
    const plainWcu = await wcu(plainItem);
    console.log(
      `${String(count).padStart(8)}  ${String(stored).padStart(13)}  ${fmt(stored / count, 1).padStart(11)}  ${String(plain).padStart(12)}  ${String(Buffer.byteLength(encodeFindings(facts.findings))).padStart(14)}  ${String(storedWcu).padStart(17)} | ${String(plainWcu).padEnd(10)}  ${fmt(putMs, 1).padStart(6)}  ${String(verdictQBytes(facts, ref)).padStart(11)}`,
    );
    last = { stored, plain };
  }
  const cap = Math.floor(380_000 / (last.stored / (sizes.at(-1) ?? 1)));
  console.log(
    `one item holds about ${cap.toLocaleString('en')} findings at this rate (380,000 B a part; more continue in part items)`,
  );
  console.log(
    `ratio stored/plain-JSON bytes at ${sizes.at(-1)} findings ${fmt(last.stored / last.plain, 3)} (${last.stored} B vs ${last.plain} B per digest)`,
  );
}

/** Measured in this order on one table. */
export const SECTIONS: ((ctx: FactsBenchContext) => Promise<void>)[] = [
  bytesPerDigest,
  fleetQuestions,
];

export async function run(args: string[]): Promise<void> {
  // DynamoDB is a remote service: its work does not share the event loop of what is timed.
  const dynamo = await startDynaliteProcess();
  try {
    const tableName = await dynamo.newTable('bench-facts');
    for (const section of SECTIONS) await section({ dynamo, tableName, args });
  } finally {
    await dynamo.stop();
  }
}
