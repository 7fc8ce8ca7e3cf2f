/**
 * bench/rescan: one nightly run over N images (default 100,000) in R repositories, verdict
 * table on dynalite, ECR an aws-sdk-client-mock account, SQS mocked; side by side with the
 * floor, enumerating the table and nothing else. Pacing is off: this measures the work,
 * and the time the configured rates would stretch it to is computed from the call counts.
 *
 *   npm run bench -- rescan [--images 100000] [--repositories 100] [--sample 1000]
 */
import { performance } from 'node:perf_hooks';
import { ECRClient } from '@aws-sdk/client-ecr';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbFindingsFacts, factsItems } from '../shared/adapters/aws/dynamodb-findings-facts';
import { currentItem, DynamoDbVerdictStore } from '../shared/adapters/aws/dynamodb-verdict-store';
import { EcrAdapter } from '../shared/adapters/aws/ecr';
import { requestsFromMessageBody } from '../shared/adapters/aws/evaluate-events';
import { ApiCallStats, pacedClient } from '../shared/adapters/aws/paced-client';
import { imagePartitionKey } from '../shared/adapters/aws/verdict-table';
import { awsRescanPorts, DEFAULT_RESCAN_RATES } from '../shared/composition/rescan-ports';
import { evaluate } from '../shared/domain/evaluate';
import type { ScanFindings } from '../shared/domain/findings';
import { factsOfScan } from '../shared/domain/findings-facts';
import { draftFrom, planWrite } from '../shared/domain/verdict-record';
import { ApiPacer } from '../shared/rate-limit';
import { evaluateBatch } from '../shared/services/evaluate-batch';
import { runRescan } from '../shared/services/rescan-run';
import { digestOf, policyOf, REGISTRY } from '../test/support/builders';
import { startDynalite } from '../test/support/dynalite';
import { type SimImage, SimulatedEcr } from '../test/support/simulated-ecr';
import { fmt } from './support/measure';

const NIGHT = Date.parse('2026-11-23T02:00:00Z');
const HOUR = 3_600_000;

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} takes a positive whole number`);
  return value;
}

export async function run(args: string[]): Promise<void> {
  const images = option(args, '--images', 100_000);
  const repositories = option(args, '--repositories', 100);
  const sampleSize = Math.min(images, option(args, '--sample', 1_000));
  const policy = policyOf();
  const dynamo = await startDynalite();
  try {
    const tableName = await dynamo.newTable('bench-rescan');
    const sim = new SimulatedEcr(() => NIGHT);
    sim.listingShowsScans = false; // ECR's newer basic scanning: scan times only in the table
    const ecrClient = new ECRClient({ region: 'eu-west-1' });
    const ecrMock = sim.attach(ecrClient);
    const sqsClient = new SQSClient({ region: 'eu-west-1' });
    const sqsMock = mockClient(sqsClient);
    const sent: string[] = [];
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => {
      for (const e of input.Entries ?? []) sent.push(e.MessageBody ?? '');
      return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })) };
    });

    // Scans 0 to 7 days old (a steady state under maxScanAge 7d), 1 in 100 pushes never
    // announced, 1 in 1,000 images deleted without an event.
    const seeded: SimImage[] = [];
    for (let i = 0; i < images; i++) {
      const image: SimImage = {
        repository: `team-${String(i % repositories).padStart(3, '0')}/app`,
        digest: digestOf(i + 1),
        tags: [`1.0.${i}`],
        pushedAt: NIGHT - 30 * 24 * HOUR,
        scannedAt: NIGHT - (i % 42) * 4 * HOUR - HOUR,
        vulnerable: i % 10 === 3,
      };
      sim.add(image);
      if (i % 100 !== 37) seeded.push(image);
      if (i % 1_000 === 11) sim.remove(image.repository, image.digest);
    }
    const seedStart = performance.now();
    await seedTable(dynamo.documents, tableName, seeded, policy);
    console.log(
      `seeded ${seeded.length} verdicts in ${fmt((performance.now() - seedStart) / 1000, 1)} s (not measured)`,
    );

    const ports = () =>
      awsRescanPorts({
        tableName,
        evaluateQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/evaluate',
        scanning: 'basic',
        unpaced: true,
        clock: () => new Date(NIGHT),
        clients: { ecrFor: () => ecrClient, dynamo: dynamo.client, sqs: sqsClient },
      });

    const floor = async () => {
      const { ports: p, stats } = ports();
      const start = performance.now();
      let count = 0;
      for await (const page of p.catalog.pages()) count += page.length;
      return { ms: performance.now() - start, count, calls: stats.total() };
    };
    const floorBefore = await floor();

    const { ports: planPorts, stats } = ports();
    const planStart = performance.now();
    const result = await runRescan(
      { kind: 'start' },
      {
        ...planPorts,
        policy,
        registries: [REGISTRY],
        scanning: 'basic',
        clock: () => new Date(NIGHT),
        owner: 'bench',
      },
    );
    const planMs = performance.now() - planStart;
    const floorAfter = await floor();
    const floorMs = (floorBefore.ms + floorAfter.ms) / 2;

    const calls = stats.snapshot();
    const planCalls = stats.total();
    const totals = result.totals;
    console.log(`images ${images} in ${repositories} repositories; run ${result.outcome}`);
    console.log(
      `  planned ${totals?.planned} (rescans ${totals?.rescans}, missing a verdict ${totals?.missing}), deleted ${totals?.deleted}, scans started ${totals?.scansStarted}`,
    );
    console.log(
      `floor (enumerate the table): ${fmt(floorMs / 1000)} s, ${floorBefore.count} verdicts, ${floorBefore.calls} calls`,
    );
    console.log(`plan: ${fmt(planMs / 1000)} s, ${planCalls} AWS calls`);
    let pacedSeconds = 0;
    for (const [api, n] of Object.entries(calls)) {
      const rate = DEFAULT_RESCAN_RATES[api]?.perSecond ?? 5;
      pacedSeconds = Math.max(pacedSeconds, n.calls / rate);
      console.log(
        `  ${api.padEnd(22)} ${String(n.calls).padStart(7)}  ${fmt(n.calls / images, 4)}/image  at ${rate}/s: ${fmt(n.calls / rate, 0)} s`,
      );
    }
    console.log(
      `  at the default rates the slowest API alone needs ${fmt(pacedSeconds / 60, 1)} min (${Math.ceil(pacedSeconds / 840)} invocation(s) of 15 min)`,
    );

    // Deletions: the planner sends a `delete` request; evaluate, the one writer, records it.
    const isDeletion = (body: string) =>
      requestsFromMessageBody(body).some((r) => r.trigger === 'delete');
    const deletions = sent.filter(isDeletion);
    const deletionCalls = await evaluateSample(deletions, sim, dynamo, tableName, policy, true, 5);
    const recorded = await countDeleted(deletions, dynamo.documents, tableName);
    console.log(
      `  deletions: ${deletions.length} delete requests; evaluate recorded ${recorded} (${fmt(deletionCalls, 2)} AWS calls each)`,
    );
    if (recorded !== totals?.deleted) {
      throw new Error(
        `evaluate recorded ${recorded} deletions, the planner confirmed ${totals?.deleted}`,
      );
    }

    // Unchanged: a known digest, no scan started tonight, so the request carries the listing.
    const unchanged = sent.filter((b) => b.includes('"seen"'));
    const sample = unchanged.slice(0, sampleSize);
    const unchangedCalls = await evaluateSample(sample, sim, dynamo, tableName, policy, true);
    const evaluateCalls = await evaluateSample(
      sent.filter((b) => !isDeletion(b)).slice(0, sampleSize),
      sim,
      dynamo,
      tableName,
      policy,
      true,
      20,
    );
    // Last, as it rewrites the records without their facts: evaluate as it was (describe, read findings).
    const beforeCalls = await evaluateSample(
      sample.map(withoutListing),
      sim,
      dynamo,
      tableName,
      policy,
      false,
      30,
    );
    const planPerImage = planCalls / images;
    // The planner's calls an unchanged image causes: its share of listing and enumerating,
    // and its evaluate request; StartImageScan belongs to the images being scanned.
    const shared =
      planCalls - (calls.StartImageScan?.calls ?? 0) - (calls.SendMessageBatch?.calls ?? 0);
    const plannerUnchanged = shared / images + 0.1;
    console.log(
      `unchanged images (known, no scan started tonight): ${unchanged.length}; evaluate on a sample of ${sample.length}: ${fmt(beforeCalls, 2)} AWS calls/image before (DescribeImages + DescribeImageScanFindings + GetItem + UpdateItem), ${fmt(unchangedCalls, 2)} now (listing carried, findings from stored facts)`,
    );
    console.log(
      `whole night per unchanged image: ${fmt(plannerUnchanged + unchangedCalls, 2)} AWS calls (planner ${fmt(plannerUnchanged, 3)} + evaluate ${fmt(unchangedCalls, 2)}) vs ${fmt(plannerUnchanged + beforeCalls, 2)} before (goal <= 0.5)`,
    );
    console.log(
      `evaluate function (sample of ${sampleSize} planned images): ${fmt(evaluateCalls, 2)} AWS calls/image`,
    );
    console.log(
      `whole night: ${fmt(planPerImage + evaluateCalls, 2)} AWS calls/image (planner ${fmt(planPerImage, 3)} + evaluate ${fmt(evaluateCalls, 2)})`,
    );
    console.log(
      `ratio plan/floor ${fmt(planMs / floorMs)} (plan ${fmt(planMs / 1000)} s vs floor ${fmt(floorMs / 1000)} s); planner AWS calls per image ${fmt(planPerImage, 3)} (target <= 3)`,
    );
    ecrMock.restore();
    sqsMock.restore();
  } finally {
    await dynamo.stop();
  }
}

/** The table as push evaluations left it: CURRENT items only, 25 per BatchWriteItem. */
async function seedTable(
  documents: DynamoDBDocumentClient,
  tableName: string,
  seeded: SimImage[],
  policy: ReturnType<typeof policyOf>,
): Promise<void> {
  const evaluations = new Map<
    string,
    { scan: ScanFindings; evaluation: ReturnType<typeof evaluate> }
  >();
  const items = seeded.flatMap((image) => {
    const key = { registry: REGISTRY, repository: image.repository, digest: image.digest };
    const completedAt = new Date(image.scannedAt as number).toISOString();
    const kind = `${image.vulnerable}@${completedAt}`;
    let cached = evaluations.get(kind);
    if (!cached) {
      const scan: ScanFindings = {
        state: 'complete',
        status: 'COMPLETE',
        scanner: 'ecr-basic',
        completedAt,
        findings: image.vulnerable ? [{ id: 'CVE-2024-37371', severity: 'CRITICAL' }] : [],
      };
      cached = {
        scan,
        evaluation: evaluate({ image: key, scan, policy, now: new Date(NIGHT - 24 * HOUR) }),
      };
      evaluations.set(kind, cached);
    }
    const { findings: _, ...summary } = cached.scan;
    const facts = {
      key,
      tags: image.tags,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    };
    // As evaluate leaves them: the findings facts beside the verdict, which names them.
    const stored = factsOfScan(key, cached.scan);
    const { ref, items: factItems } = stored ? factsItems(stored) : { ref: undefined, items: [] };
    const { record } = planWrite(undefined, {
      ...draftFrom(facts, summary, cached.evaluation, undefined, undefined),
      ...(ref && { facts: [ref] }),
    });
    const pk = imagePartitionKey(key);
    return [currentItem(pk, record), ...factItems];
  });
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      await documents.send(
        new BatchWriteCommand({
          RequestItems: { [tableName]: batch.map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** AWS calls per image of the evaluate function on planned requests (ECR mocked, dynalite). */
async function evaluateSample(
  bodies: string[],
  sim: SimulatedEcr,
  dynamo: Awaited<ReturnType<typeof startDynalite>>,
  tableName: string,
  policy: ReturnType<typeof policyOf>,
  withFacts: boolean,
  /** Minutes after the night's start: each sample judges at its own time, so each writes. */
  minutes = 10,
): Promise<number> {
  const stats = new ApiCallStats();
  const pacer = new ApiPacer({});
  const client = pacedClient(sim.lean(), pacer, stats);
  const images = new EcrAdapter({ clientFor: () => client });
  const documents = pacedClient(dynamo.documents, pacer, stats);
  const store = new DynamoDbVerdictStore({ tableName, client: documents });
  const facts = withFacts ? new DynamoDbFindingsFacts({ tableName, client: documents }) : undefined;
  for (let i = 0; i < bodies.length; i += 10) {
    await evaluateBatch(
      bodies.slice(i, i + 10).map((body, j) => ({ id: String(i + j), body })),
      {
        images,
        findings: images,
        ...(facts && { facts }),
        store,
        policy,
        clock: () => new Date(NIGHT + minutes * 60_000),
      },
      requestsFromMessageBody,
    );
  }
  return stats.total() / Math.max(1, bodies.length);
}

/** How many of the requested images the table now holds as deleted. */
async function countDeleted(
  bodies: string[],
  documents: DynamoDBDocumentClient,
  tableName: string,
): Promise<number> {
  const store = new DynamoDbVerdictStore({ tableName, client: documents });
  let n = 0;
  for (const request of bodies.flatMap(requestsFromMessageBody)) {
    if ((await store.get(request.key))?.deletedAt) n += 1;
  }
  return n;
}

/** The request as the planner sent it before it passed the listing on. */
function withoutListing(body: string): string {
  const event = JSON.parse(body) as { detail: Record<string, unknown> };
  const { seen: _seen, ...detail } = event.detail;
  return JSON.stringify({ ...event, detail });
}
