import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { createHandler } from '../../functions/evaluate/handler';
import type { BatchMetrics } from '../../shared/adapters/aws/batch-metrics';
import { awsClient } from '../../shared/adapters/aws/clients';
import {
  DynamoDbVerdictStore,
  documentClient,
} from '../../shared/adapters/aws/dynamodb-verdict-store';
import { evaluateRequestEvent } from '../../shared/adapters/aws/evaluate-events';
import { fleetRecordOf } from '../../shared/adapters/aws/fleet-item';
import { recordOfItem } from '../../shared/adapters/aws/verdict-item';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { FLEET_RECORD_ATTRIBUTES } from '../../shared/domain/fleet-record';
import type { ImageKey } from '../../shared/domain/image-ref';
import { silentLog } from '../../shared/ports';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type FaultProxy, seeded, startFaultProxy } from '../support/fault-proxy';
import { sqsRecord } from '../support/sqs';

// The evaluate hop under faults: 1,000 evaluation requests (10 % duplicated, shuffled,
// interleaved with changes of the world) through two consumers at once, every DynamoDB
// request through a proxy that throttles, fails, delays, resets and loses responses after
// the write. Verdicts, facts and deletions must end as a fault-free run of the script leaves them.

const IMAGES = 40;
const EVENTS = 1_000;
const MAX_RECEIVES = 5;
const T0 = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

type Step =
  | { event: ImageKey }
  | { change: 'finding' | 'fixed' | 'delete' | 'last'; image: number }
  | { change: 'exception-expires' }
  /** Wait until every message so far is settled (nothing queued, no batch in flight). */
  | { drain: true };

const image = (n: number) => keyOf(`prod/svc-${n % 4}`, 1_000 + n);
/** The finding each image's last change adds: only its last event's write carries this id. */
const lastFinding = (n: number) => `CVE-2026-8${String(n).padStart(3, '0')}`;
const EXCEPTED = (n: number) => n % 5 === 0;

const policy = policyOf(`
defaults:
  block: { severity: HIGH }
  grace: { CRITICAL: 0d, HIGH: 0d }
exceptions:
  - id: CVE-2026-0001
    repositories: ["prod/*"]
    expires: ${at(24 * HOUR).toISOString()}
    owner: security@example.com
    reason: mitigated upstream
`);

/** The script both runs play: events, duplicates, world changes, each change followed by an event. */
function script(random: () => number): Step[] {
  const steps: Step[] = [];
  let events = 0;
  while (events < EVENTS) {
    if (events > 0 && events % 40 === 0) {
      if (events === 600) {
        steps.push({ change: 'exception-expires' });
        for (let n = 0; n < IMAGES; n++) if (EXCEPTED(n)) steps.push({ event: image(n) });
      } else {
        const n = Math.floor(random() * IMAGES);
        const kinds = ['finding', 'fixed', 'delete'] as const;
        steps.push({ change: kinds[Math.floor(random() * 3)] as (typeof kinds)[number], image: n });
        steps.push({ event: image(n) });
      }
    }
    steps.push({ event: image(Math.floor(random() * IMAGES)) });
    events += 1;
  }
  // Last, once all else is settled, every third image changes once more and is announced by
  // exactly one event, the only evaluation that can see it: losing that event (or its write)
  // leaves the table behind the world.
  const last: Step[] = [];
  for (let n = 0; n < IMAGES; n += 3) last.push({ change: 'last', image: n }, { event: image(n) });
  // 10 % duplicates, each at a random later place (SNS/EventBridge deliver at least once).
  for (let d = 0; d < EVENTS / 10; d++) {
    const from = Math.floor(random() * steps.length);
    const step = steps[from] as Step;
    if (!('event' in step)) continue;
    steps.splice(from + 1 + Math.floor(random() * (steps.length - from)), 0, step);
  }
  return [...steps, { drain: true }, ...last];
}

function initialWorld(): MemoryRegistry {
  const world = new MemoryRegistry();
  for (let n = 0; n < IMAGES; n++) {
    const findings = [finding('CVE-2026-0100', 'LOW')];
    if (EXCEPTED(n)) findings.push(finding('CVE-2026-0001', 'HIGH'));
    world.put({ key: image(n), tags: [`v${n}`] }, completeScan(findings, at(-HOUR).toISOString()));
  }
  return world;
}

const unprinted: BatchMetrics = {
  addMetric: () => undefined,
  publishStoredMetrics: () => undefined,
};

interface RunFigures {
  messages: number;
  receives: number;
  deadLettered: number;
}

/** Plays the script against one table: consumers pull batches of 10, failed items come back. */
async function play(
  steps: Step[],
  endpoint: string,
  table: string,
  consumers: number,
): Promise<RunFigures> {
  const client = awsClient(DynamoDBClient, {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: { requestTimeout: 2_000 },
  });
  const world = initialWorld();
  let now = at(0);
  const handler = createHandler(
    () => ({
      images: world,
      findings: world,
      store: new DynamoDbVerdictStore({ tableName: table, client: documentClient(client) }),
      policy,
      log: silentLog,
      clock: () => now,
    }),
    unprinted,
  );
  const queue: { record: SQSRecord; receives: number }[] = [];
  const dlq: SQSRecord[] = [];
  const figures: RunFigures = { messages: 0, receives: 0, deadLettered: 0 };
  let produced = false;
  let inFlight = 0;

  const consume = async () => {
    while (!produced || queue.length > 0) {
      const batch = queue.splice(0, 10);
      if (batch.length === 0) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      figures.receives += batch.length;
      inFlight += 1;
      const result = await handler({ Records: batch.map((m) => m.record) });
      const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      for (const m of batch) {
        if (!failed.has(m.record.messageId)) continue;
        m.receives += 1;
        if (m.receives >= MAX_RECEIVES) dlq.push(m.record);
        else queue.push(m);
      }
      inFlight -= 1;
    }
  };
  const running = Array.from({ length: consumers }, consume);
  for (const step of steps) {
    if ('drain' in step) {
      while (queue.length > 0 || inFlight > 0) await new Promise((r) => setTimeout(r, 1));
    } else if ('event' in step) {
      figures.messages += 1;
      queue.push({ record: sqsRecord(evaluateRequestEvent(step.event, 'push', now)), receives: 0 });
    } else if (step.change === 'exception-expires') {
      now = at(25 * HOUR);
    } else if (step.change === 'delete') {
      world.delete(image(step.image));
    } else {
      const findings = [finding('CVE-2026-0100', 'LOW')];
      if (step.change === 'finding') findings.push(finding(`CVE-2026-9${step.image}`, 'CRITICAL'));
      if (step.change === 'last') findings.push(finding(lastFinding(step.image), 'CRITICAL'));
      world.put(
        { key: image(step.image), tags: [`v${step.image}`] },
        completeScan(findings, at(-HOUR).toISOString()),
      );
    }
    if (figures.messages % 25 === 0) await new Promise((r) => setImmediate(r));
  }
  produced = true;
  await Promise.all(running);
  figures.deadLettered = dlq.length;
  // What the DLQ holds is whole: redrive it to the source, as the runbook says.
  for (const record of dlq.splice(0)) queue.push({ record, receives: 0 });
  await Promise.all(Array.from({ length: consumers }, consume));
  client.destroy();
  return figures;
}

/** JSON with object keys sorted, so two encodings of one value compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * What the fleet record `q` says of an item, beside what the item's own attributes say (the
 * item codec): 'absent', 'matches', or the names that disagree. `q` carries times and the
 * finding clock, which differ between runs by design, so it is compared to its own item.
 */
function fleetRecordAgreement(item: Record<string, unknown>): string {
  if (!(item.q instanceof Uint8Array)) return 'absent';
  const fleet = fleetRecordOf(item.q) as Record<string, unknown> | undefined;
  if (fleet === undefined) return 'unreadable';
  const record = recordOfItem(item) as unknown as Record<string, unknown>;
  const differing = FLEET_RECORD_ATTRIBUTES.filter(
    (name) => canonical(fleet[name]) !== canonical(record[name]),
  );
  return differing.length === 0 ? 'matches' : `differs in ${differing.join(', ')}`;
}

/** Every CURRENT item without its bookkeeping (times, versions, transition ids). */
async function currentState(dynamo: LocalDynamo, table: string) {
  const out = await dynamo.client.send(new ScanCommand({ TableName: table }));
  const skip = /At$|^version$|^transitionId$|^findingClock$|^historyPending$|^ttl$|^q$/;
  return (out.Items ?? [])
    .map((item) => unmarshall(item))
    .filter((item) => item.sk === 'CURRENT')
    .map(
      (item): Record<string, unknown> => ({
        ...(Object.fromEntries(
          Object.entries(item)
            .filter(([k]) => !skip.test(k))
            .sort(),
        ) as Record<string, unknown>),
        deleted: item.deletedAt !== undefined,
        fleetRecord: fleetRecordAgreement(item),
      }),
    )
    .sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
}

/**
 * A record with what depends on the observed history erased: the verdict before the last
 * transition (a run that coalesced events never saw it), and which rule failed a finding
 * (grace needs an admitted digest) with the grace deadline it carried.
 */
function withGraceHistoryErased({
  previousVerdict: _previous,
  deadline: _deadline,
  ...item
}: Record<string, unknown>): Record<string, unknown> {
  type StoredReason = { code: string; effect: string; findings?: string[]; platform?: string };
  const reasons = (item.reasons as StoredReason[] | undefined) ?? [];
  const blocking = (r: StoredReason) => r.code === 'GRACE_EXPIRED' || r.code === 'VULNERABILITY';
  return {
    ...item,
    reasons: reasons
      .filter((r) => !blocking(r))
      .map(({ code, effect, findings, platform }) => ({ code, effect, findings, platform })),
    failedFindings: reasons
      .filter(blocking)
      .flatMap((r) => (r.findings ?? []).map((id) => `${r.platform ?? ''} ${id} ${r.effect}`))
      .sort(),
  };
}

// Random faults may spare the few events that alone bring an image to its final state. These
// do not: the first writes that carry an image's last finding fail as long as one call
// retries, so that event fails once, for certain, and only its redelivery can record it.
const LAST_WRITE_FAILURES = 5;
const lastWriteFailures = new Map<string, number>();
function failsLastWritesOnce(body: string): boolean {
  const id = /CVE-2026-8\d{3}/.exec(body)?.[0];
  if (id === undefined) return false;
  const failures = lastWriteFailures.get(id) ?? 0;
  if (failures >= LAST_WRITE_FAILURES) return false;
  lastWriteFailures.set(id, failures + 1);
  return true;
}

let dynamo: LocalDynamo;
let proxy: FaultProxy;
beforeAll(async () => {
  dynamo = await startDynalite();
  proxy = await startFaultProxy(
    dynamo.endpoint,
    { throttle: 0.2, 'server-error': 0.08, latency: 0.05, reset: 0.05, 'lost-response': 0.07 },
    seeded(11),
    'aws-json',
    failsLastWritesOnce,
  );
});
afterAll(async () => {
  await proxy.stop();
  await dynamo.stop();
});

it('1,000 events through DynamoDB faults end with the same verdicts, facts and deletions as a fault-free run', async () => {
  const steps = script(seeded(2026));
  const clean = await dynamo.newTable('clean');
  const faulty = await dynamo.newTable('faulty');
  const reference = await play(steps, dynamo.endpoint, clean, 1);
  const underFaults = await play(steps, proxy.endpoint, faulty, 2);
  const cleanState = await currentState(dynamo, clean);
  const faultyState = await currentState(dynamo, faulty);
  // A digest deleted before any evaluation of it succeeded leaves no record at all in one
  // run and a deleted one in the other: neither admits it. Only that difference is dropped.
  const pks = (items: Record<string, unknown>[]) => new Set(items.map((i) => i.pk));
  const onBothSidesOrLive = (items: Record<string, unknown>[], other: Set<unknown>) =>
    items.filter((i) => other.has(i.pk) || !i.deleted);
  const expected = onBothSidesOrLive(cleanState, pks(faultyState));
  const actual = onBothSidesOrLive(faultyState, pks(cleanState));
  const neverRecorded = cleanState.length + faultyState.length - expected.length - actual.length;
  const equal = JSON.stringify(actual) === JSON.stringify(expected);
  const judged = (items: Record<string, unknown>[]) =>
    items.map(({ pk, verdict, deleted, tags, severityCounts, scan }) => ({
      pk,
      verdict,
      deleted,
      tags,
      severityCounts,
      scan,
    }));
  const differing = actual.filter(
    (item, i) => JSON.stringify(item) !== JSON.stringify(expected[i]),
  ).length;
  console.log(
    `faults: ${underFaults.messages} events (${steps.length - underFaults.messages} world changes), ` +
      `${proxy.requests} DynamoDB requests, injected ${JSON.stringify(proxy.injected)}, ` +
      `receives ${underFaults.receives} (fault-free ${reference.receives}), ` +
      `dead-lettered then redriven ${underFaults.deadLettered}, last events failed once ${lastWriteFailures.size}, final records equal: ${equal ? 'yes' : `no, ${differing} differ in reasons`}, deleted digests recorded on one side only ${neverRecorded}, final verdicts equal: ${JSON.stringify(judged(actual)) === JSON.stringify(judged(expected)) ? 'yes' : 'no'}`,
  );
  expect(reference.deadLettered).toBe(0);
  expect(Object.values(proxy.injected).every((n) => n > 0)).toBe(true);
  // Every image's last event met its certain failure (one per third image).
  expect([...lastWriteFailures.values()]).toEqual(
    Array(Math.ceil(IMAGES / 3)).fill(LAST_WRITE_FAILURES),
  );
  // Deleted digests keep their record, marked deleted (it leaves the allowlist).
  expect(cleanState.filter((i) => i.deleted).length).toBeGreaterThan(0);
  expect(cleanState.length).toBeGreaterThan(IMAGES - 10);
  expect(new Set(expected.map((i) => i.verdict))).toEqual(new Set(['PASS', 'FAIL']));
  // Verdicts, facts and deletions must match, and so must every reason but one kind of
  // difference: grace is granted when the digest was admitted at the moment the finding was
  // first seen (docs/architecture.md, Grace), and one run may have judged (and admitted) a
  // state the other skipped, its events coalesced. Then the same findings fail as
  // VULNERABILITY in one and GRACE_EXPIRED in the other, with the same effect. Anything else
  // that differs fails here.
  expect(judged(actual)).toEqual(judged(expected));
  // Each live item's fleet record says what the item says (a deleted one leaves the index).
  expect(new Set(cleanState.filter((i) => !i.deleted).map((i) => i.fleetRecord))).toEqual(
    new Set(['matches']),
  );
  expect(actual.map(withGraceHistoryErased)).toEqual(expected.map(withGraceHistoryErased));
}, 120_000);
