import { join } from 'node:path';
import {
  isMainThread,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import { type Log, silentLog } from '../../shared/ports';
import { IndexAssembler, type IndexHeader, type IndexPart, splitIndex } from './index-transfer';
import { runVerifyJob, type VerifyJob, type VerifyVerdict } from './verify-job';

/**
 * Verifying and indexing a new allowlist off the admission path (issue 16): at 100,000
 * digests the signature check, JSON.parse, the schema and the index hold a thread for
 * ~0.3 s or more, and admissions would wait behind them. A worker thread does that work;
 * the serving thread only adds the finished index part by part (asking for the next part
 * after each, so reviews run between parts), then swaps. Nothing is swapped unless the
 * worker verified the exact bytes; a worker that fails is replaced by inline verification.
 */
export interface AllowlistVerifier {
  verify(job: VerifyJob): Promise<VerifyVerdict>;
  /** Get ready for the next document (start the worker before it is needed). */
  warm?(): void;
  close(): void;
}

export const inlineVerifier: AllowlistVerifier = {
  verify: async (job) => runVerifyJob(job),
  close() {},
};

const ROLE = 'registry-watcher-allowlist-verifier';
/** Rows per part: ~2,000 digests take well under a millisecond to receive and add. */
export const PART_ROWS = 2_000;

type ToWorker = { type: 'job'; job: VerifyJob } | { type: 'next' };
type FromWorker =
  | { type: 'verdict'; verdict: WireVerdict }
  | { type: 'part'; part: IndexPart }
  | { type: 'error'; message: string };
type WireVerdict =
  | { result: 'verified'; header: IndexHeader }
  | { result: 'expired'; sequence: number; header?: IndexHeader }
  | {
      result: 'rejected';
      reason: Extract<VerifyVerdict, { result: 'rejected' }>['reason'];
      message: string;
    };

/** The worker's side: one job at a time, parts handed out on request. */
export function serveVerifyJobs(
  port: Pick<MessagePort, 'on' | 'postMessage'>,
  rows = PART_ROWS,
): void {
  let parts: IndexPart[] = [];
  let next = 0;
  port.on('message', (message: ToWorker) => {
    if (message.type === 'next') {
      const part = parts[next++];
      if (next >= parts.length) parts = [];
      port.postMessage(
        part ? { type: 'part', part } : { type: 'error', message: 'no allowlist part left' },
      );
      return;
    }
    try {
      const verdict = runVerifyJob(message.job);
      parts = [];
      next = 0;
      let wire: WireVerdict;
      if (verdict.result === 'rejected') wire = verdict;
      else {
        const split = verdict.index && splitIndex(verdict.index, rows);
        parts = split?.parts ?? [];
        wire =
          verdict.result === 'verified'
            ? { result: 'verified', header: (split as { header: IndexHeader }).header }
            : {
                result: 'expired',
                sequence: verdict.sequence,
                ...(split && { header: split.header }),
              };
      }
      port.postMessage({ type: 'verdict', verdict: wire } satisfies FromWorker);
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message } satisfies FromWorker);
    }
  });
}

// The image is one bundle: the worker thread runs that same file and lands here.
if (!isMainThread && parentPort && (workerData as { role?: string } | undefined)?.role === ROLE) {
  serveVerifyJobs(parentPort);
}

/** From source (tests, tsx) the worker runs this module through tsx; bundled, the bundle. */
function workerScript(): { file: string; execArgv?: string[] } {
  if (__filename.endsWith('.ts')) {
    return { file: join(__dirname, 'verify-worker.ts'), execArgv: ['--require', 'tsx/cjs'] };
  }
  return { file: __filename };
}

export class WorkerVerifier implements AllowlistVerifier {
  private worker: Worker | undefined;
  private pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly log: Log = silentLog) {}

  async verify(job: VerifyJob): Promise<VerifyVerdict> {
    try {
      return await this.viaWorker(job);
    } catch (error) {
      this.log.warn('allowlist verification worker failed; verifying on the serving thread', {
        detail: (error as Error).message,
      });
      this.close();
      return runVerifyJob(job);
    }
  }

  warm(): void {
    this.started();
  }

  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.pending?.reject(new Error('the verification worker was closed'));
    this.pending = undefined;
    void worker?.terminate();
  }

  private async viaWorker(job: VerifyJob): Promise<VerifyVerdict> {
    const reply = await this.ask({ type: 'job', job });
    if (reply.type !== 'verdict') {
      throw new Error(reply.type === 'error' ? reply.message : `unexpected ${reply.type}`);
    }
    const wire = reply.verdict;
    if (wire.result === 'rejected') return wire;
    const index = wire.header && (await this.assemble(wire.header));
    if (wire.result === 'expired') {
      return { result: 'expired', sequence: wire.sequence, ...(index && { index }) };
    }
    if (!index) throw new Error('a verified allowlist came without its index');
    return { result: 'verified', index };
  }

  /** One part per round trip: reviews that arrived meanwhile run between parts. */
  private async assemble(header: IndexHeader) {
    const assembler = new IndexAssembler(header);
    for (let i = 0; i < header.parts; i++) {
      const reply = await this.ask({ type: 'next' });
      if (reply.type !== 'part') {
        throw new Error(reply.type === 'error' ? reply.message : `unexpected ${reply.type}`);
      }
      assembler.add(reply.part);
    }
    return assembler.finish();
  }

  private ask(message: ToWorker): Promise<FromWorker> {
    const worker = this.started();
    // Held open only while it owes an answer: an idle worker never keeps the process alive.
    worker.ref();
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage(message);
    }).finally(() => worker.unref());
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const { file, execArgv } = workerScript();
    const worker = new Worker(file, { workerData: { role: ROLE }, ...(execArgv && { execArgv }) });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.pending?.reject(error);
      this.pending = undefined;
    };
    worker.on('message', (m: FromWorker) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(m);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the verification worker exited (${code})`)));
    // After the listeners: adding a 'message' listener refs the port again.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
