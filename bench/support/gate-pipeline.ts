import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  logger as allowlistLogger,
  createHandler as createAllowlistHandler,
} from '../../functions/allowlist/handler';
import {
  logger as changesLogger,
  createHandler as createChangesHandler,
} from '../../functions/changes/handler';
import { createHandler as createEvaluateHandler } from '../../functions/evaluate/handler';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { awsClient } from '../../shared/adapters/aws/clients';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { evaluateRequestEvent } from '../../shared/adapters/aws/evaluate-events';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import type { FileSigner } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { parseAllowlist } from '../../shared/domain/allowlist';
import type { ImageKey } from '../../shared/domain/image-ref';
import { planWrite } from '../../shared/domain/verdict-record';
import { silentLog } from '../../shared/ports';
import type { AllowlistStore } from '../../shared/ports/publishing';
import { completeScan, draftOf, keyOf, policyOf, REGISTRY } from '../../test/support/builders';
import { get, post, reviewWith, type TestTls } from '../../test/support/cluster';
import type { LocalDynamo } from '../../test/support/dynalite';
import type { LocalS3 } from '../../test/support/s3rver';
import { LoopbackTopic } from '../../test/support/sns-topic';
import { sqsEvent } from '../../test/support/sqs';
import { LoopbackFifoQueue, sleep } from './fifo-queue';
import { startS3rverProcess } from './s3rver-process';
import { StreamingStore, StreamShard } from './stream-shard';

/** What the stack configures on the verdict-to-gate path (infra/publication.ts, cluster config). */
export interface GateSettings {
  label: string;
  /** The stream event source's maxBatchingWindow. */
  streamWindowMs: number;
  /** The stream event source's parallelizationFactor (concurrent batches per shard). */
  parallelization: number;
  /** REBUILD_MIN_INTERVAL: the shortest gap between two publications (0: none). */
  minIntervalMs: number;
  /** REBUILD_DEBOUNCE: the deduplication window = the FIFO queue's delivery delay. */
  debounceMs: number;
  /** The webhook's allowlist.refreshInterval (±10 % jitter). */
  refreshMs: number;
}

export interface Publication {
  sequence: number;
  at: number;
  digests: Set<string>;
  /** From the build's first read (the store's HEAD) to its S3 write. */
  buildMs: number;
  /** Bytes written to S3: document, bundle (twice: metadata and sidecar) and key. */
  bytes: number;
  documentBytes: number;
}

export interface Replica {
  url: string;
  process: ChildProcess;
  /** digest → when this replica first held a document admitting it. */
  admittedAt: Map<string, number>;
  swaps: number;
  /** Bytes of the documents this replica fetched (each swap is one full GET). */
  bytesRead: number;
  /** Admission reviews that confirmed what the swap said, and their latency. */
  confirmed: number;
  refused: number;
  /** Reviews whose connection was reset (asked again). */
  resets: number;
  reviewMs: number[];
}

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-watcher-verdict-events';
const LOCAL = { region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };
const UNPRINTED = { addMetric: () => undefined, publishStoredMetrics: () => undefined };
const CONFIRM_CHUNK = 20;

changesLogger.setLogLevel('SILENT');
allowlistLogger.setLogLevel('SILENT');

/**
 * One deployment of the verdict-to-gate path on loopback: the evaluate handler writing to
 * dynalite, the stream shard invoking `changes`, the FIFO rebuild queue invoking
 * `allowlist`, which publishes to s3rver, and two webhook replicas (the bundled webhook, as
 * the image runs it) reading that bucket over the S3 API.
 */
export class GatePipeline {
  readonly writtenAt = new Map<string, number>();
  readonly publications = new Map<number, Publication>();
  readonly replicas: Replica[] = [];
  private readonly repositories = new Map<string, string>();
  private readonly world = new MemoryRegistry();
  private readonly shard: StreamShard;
  private readonly queue: LoopbackFifoQueue;
  private readonly topic = new LoopbackTopic();
  private s3!: LocalS3;
  private table = '';
  private evaluate!: ReturnType<typeof createEvaluateHandler>;
  private next = 0;
  private stopping = false;

  constructor(
    readonly settings: GateSettings,
    private readonly dynamo: LocalDynamo,
    private readonly signer: FileSigner,
    private readonly tls: TestTls,
  ) {
    this.shard = new StreamShard(settings.streamWindowMs, settings.parallelization);
    this.queue = new LoopbackFifoQueue(settings.debounceMs);
  }

  /** Seeds `baseline` admitted digests, publishes once, starts the replicas and the pollers. */
  async start(webhookBundle: string, dir: string, baseline: number): Promise<void> {
    this.s3 = await startS3rverProcess(`gate-${this.settings.label.replace(/\W/g, '')}`);
    await Promise.all([this.topic.start(), this.queue.start()]);
    this.table = await this.dynamo.newTable('gate');
    const documents = this.dynamo.documents;
    const direct = new DynamoDbVerdictStore({ tableName: this.table, client: documents });
    for (let i = 0; i < baseline; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, baseline - i) }, (_, j) => {
          const key = keyOf(`team-${(i + j) % 20}/service-${(i + j) % 100}`, `b${i + j}`);
          return direct.write(planWrite(undefined, draftOf(key, { verdict: 'PASS' })));
        }),
      );
    }
    const store = new StreamingStore(direct, this.dynamo, this.table, this.shard, (plan, at) => {
      const { verdict, digest } = plan.record;
      if (verdict === 'PASS' || verdict === 'WARN') this.writtenAt.set(digest, at);
    });
    this.evaluate = createEvaluateHandler(
      () => ({
        images: this.world,
        findings: this.world,
        store,
        policy: policyOf(),
        clock: () => new Date(),
        log: silentLog,
        concurrency: 10,
      }),
      UNPRINTED,
    );
    const sqs = awsClient(SQSClient, { ...LOCAL, endpoint: this.queue.url });
    const sns = awsClient(SNSClient, { ...LOCAL, endpoint: this.topic.url });
    const changes = createChangesHandler(
      () => ({
        publisher: new SnsPublisher(TOPIC, sns),
        markers: new DeliveryMarkers({
          tableName: this.table,
          channel: 'SNS',
          client: documents,
          leaseMs: 120_000,
        }),
        trigger: new SqsRebuildTrigger(this.queue.url, this.settings.debounceMs, sqs),
        log: silentLog,
      }),
      UNPRINTED,
    );
    const allowlist = createAllowlistHandler(
      () => ({
        admitted: new DynamoDbAdmittedImages({ tableName: this.table, client: documents }),
        sequence: new DynamoDbSequenceCounter(this.table, documents),
        signer: this.signer,
        signatures: sigstoreAllowlistSignatures,
        store: this.recording(
          new S3AllowlistStore({ bucket: this.s3.bucket, client: this.s3.client }),
        ),
        policyHash: policyOf().hash,
        validityMs: 86_400_000,
        maxWaitMs: this.settings.debounceMs,
        minIntervalMs: this.settings.minIntervalMs,
        log: silentLog,
      }),
      UNPRINTED,
    );
    await allowlist({}); // the schedule's first publication
    const publicKey = join(dir, `${this.s3.bucket}.pub`);
    writeFileSync(publicKey, await this.signer.publicKeyPem());
    for (let r = 0; r < 2; r++) {
      this.replicas.push(await this.startReplica(webhookBundle, publicKey));
    }
    this.shard.start(changes);
    this.queue.poll(allowlist);
  }

  /** Pushes and evaluates `count` new digests in SQS batches of 10, `parallel` at once. */
  async verdicts(count: number, parallel = 1): Promise<void> {
    const keys: ImageKey[] = [];
    for (let i = 0; i < count; i++) {
      this.next += 1;
      const key = keyOf(`team-${this.next % 20}/service-${this.next % 100}`, `n${this.next}`);
      this.world.put(
        { key, tags: [`build-${this.next}`], pushedAt: new Date().toISOString() },
        completeScan([], new Date().toISOString()),
      );
      this.repositories.set(key.digest, key.repository);
      keys.push(key);
    }
    const batches: ImageKey[][] = [];
    for (let i = 0; i < keys.length; i += 10) batches.push(keys.slice(i, i + 10));
    const work = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        const result = await this.evaluate(
          sqsEvent(batch.map((k) => evaluateRequestEvent(k, 'manual', new Date()))),
        );
        if (result.batchItemFailures.length > 0) throw new Error('an evaluation failed');
      }
    };
    await Promise.all(Array.from({ length: parallel }, work));
  }

  /**
   * The longest event-loop delay any replica saw since the previous call (the webhook's
   * `nodejs_eventloop_lag_max_seconds`, reset by each scrape): how long an admission that
   * arrived at the worst moment waited for the serving thread, measured inside the replica.
   */
  async loopDelayMaxMs(): Promise<number> {
    const maxima = await Promise.all(
      this.replicas.map(async (r) => {
        const text = (await get(`${r.url}/metrics`, this.tls.ca)).body;
        return Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
      }),
    );
    return Math.max(...maxima) * 1000;
  }

  /** Resolves when both replicas admit every digest written so far (or after `limitMs`). */
  async settled(limitMs: number): Promise<boolean> {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      if (this.replicas.every((r) => r.admittedAt.size >= this.writtenAt.size)) return true;
      await sleep(50);
    }
    return false;
  }

  get counts() {
    return {
      streamInvocations: this.shard.invocations,
      rebuildsSent: this.queue.sent,
      rebuildsDeduplicated: this.queue.deduplicated,
      announced: this.topic.published.length,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.replicas) r.process.kill('SIGKILL');
    await Promise.all([this.shard.stop(), this.queue.stop()]);
    await Promise.all([this.topic.stop(), this.s3.stop()]);
  }

  /** Records each document (sequence, digests, bytes) just before it is written to S3. */
  private recording(store: AllowlistStore): AllowlistStore {
    let started = Date.now();
    return {
      current: () => {
        started = Date.now();
        return store.current();
      },
      publish: async (publication, expected) => {
        const document = parseAllowlist(publication.document);
        const digests = new Set<string>();
        for (const entries of Object.values(document.images)) {
          for (const digest of Object.keys(entries)) digests.add(digest);
        }
        const bundle = Buffer.byteLength(JSON.stringify(publication.bundle));
        this.publications.set(publication.sequence, {
          sequence: publication.sequence,
          at: Date.now(),
          buildMs: Date.now() - started,
          digests,
          documentBytes: publication.document.length,
          bytes:
            publication.document.length +
            bundle * 2.34 + // metadata (base64) and sidecar
            publication.publicKeyPem.length,
        });
        return store.publish(publication, expected);
      },
    };
  }

  private async startReplica(bundle: string, publicKey: string): Promise<Replica> {
    const child = spawn(
      process.execPath,
      [
        bundle,
        'cluster',
        'webhook',
        '--allowlist',
        `s3://${this.s3.bucket}/allowlist.json`,
        '--s3-endpoint',
        this.s3.endpoint,
        '--region',
        'eu-west-1',
        '--key',
        publicKey,
        '--refresh',
        `${this.settings.refreshMs / 1000}s`,
        '--tls-cert',
        this.tls.certFile,
        '--tls-key',
        this.tls.keyFile,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--shutdown-delay',
        '0s',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        },
      },
    );
    const replica: Replica = {
      url: '',
      process: child,
      admittedAt: new Map(),
      swaps: 0,
      bytesRead: 0,
      confirmed: 0,
      refused: 0,
      resets: 0,
      reviewMs: [],
    };
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) this.onLog(replica, line, Date.now());
    });
    replica.url = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      const found = (text: string) => /"url":"(https:[^"]+)"/.exec(text)?.[1];
      child.stdout?.on('data', (chunk: Buffer) => {
        const url = found(String(chunk));
        if (url) resolve(url);
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk;
      });
      child.once('exit', (code) => reject(new Error(`webhook exited ${code}: ${stderr}`)));
    });
    while (replica.swaps === 0) await sleep(20);
    return replica;
  }

  /** A swap: every written digest the new document holds is admitted from now on. */
  private onLog(replica: Replica, line: string, at: number): void {
    if (!line.includes('"allowlist updated"')) return;
    const sequence = Number(/"sequence":(\d+)/.exec(line)?.[1]);
    const publication = this.publications.get(sequence);
    replica.swaps += 1;
    if (!publication) return;
    replica.bytesRead += publication.documentBytes;
    const fresh: string[] = [];
    for (const [digest] of this.writtenAt) {
      if (!replica.admittedAt.has(digest) && publication.digests.has(digest)) {
        replica.admittedAt.set(digest, at);
        fresh.push(digest);
      }
    }
    void this.confirm(replica, fresh).catch(() => undefined);
  }

  /** Asks the replica itself: a Pod of the freshly admitted digests must be admitted. */
  private async confirm(replica: Replica, digests: string[]): Promise<void> {
    for (let i = 0; i < digests.length; i += CONFIRM_CHUNK) {
      const containers = digests
        .slice(i, i + CONFIRM_CHUNK)
        .map((d) => `${REGISTRY}/${this.repositories.get(d)}@${d}`);
      const review = reviewWith('k8s/admission-review-pod', { containers });
      let allowed = false;
      // A keep-alive socket the server closed meanwhile resets once; ask again on a new one.
      for (let attempt = 0; attempt < 3 && !this.stopping; attempt++) {
        try {
          const started = performance.now();
          const answer = await post(`${replica.url}/validate/enforce`, review, this.tls.ca);
          replica.reviewMs.push(performance.now() - started);
          allowed = answer.body?.response?.allowed === true;
          break;
        } catch {
          replica.resets += 1;
        }
      }
      if (this.stopping) return;
      if (allowed) replica.confirmed += containers.length;
      else replica.refused += containers.length;
    }
  }
}
