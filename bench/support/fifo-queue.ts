import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent } from 'aws-lambda';

/** SQS keeps a deduplication id for 5 minutes. */
const DEDUPLICATION_MS = 5 * 60_000;

interface Held {
  messageId: string;
  body: string;
  group: string;
  visibleAt: number;
}

/**
 * An SQS FIFO queue on loopback as the real SQS client (AWS JSON 1.0) sends to it: the
 * queue's delivery delay, explicit deduplication ids dropped for 5 minutes, one message
 * group at a time. `poll` is Lambda's event source: a batch of up to 10 visible messages of
 * a group with nothing in flight, handed to the function, deleted when it returns.
 */
export class LoopbackFifoQueue {
  private readonly held: Held[] = [];
  private readonly seen = new Map<string, { messageId: string; at: number }>();
  private readonly inFlight = new Set<string>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  sent = 0;
  deduplicated = 0;
  url = '';
  private readonly server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      const input = JSON.parse(text || '{}') as {
        MessageBody?: string;
        MessageGroupId?: string;
        MessageDeduplicationId?: string;
      };
      if (
        req.headers['x-amz-target'] !== 'AmazonSQS.SendMessage' ||
        !input.MessageBody ||
        !input.MessageGroupId ||
        !input.MessageDeduplicationId
      ) {
        reply(400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: 'bad request' });
        return;
      }
      reply(200, this.send(input.MessageBody, input.MessageGroupId, input.MessageDeduplicationId));
    });
  });

  constructor(private readonly delayMs: number) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/123456789012/allowlist-rebuild.fifo`;
  }

  private send(body: string, group: string, deduplicationId: string) {
    const now = Date.now();
    const md5 = createHash('md5').update(body).digest('hex');
    const earlier = this.seen.get(deduplicationId);
    if (earlier && now - earlier.at < DEDUPLICATION_MS) {
      this.deduplicated += 1;
      return { MessageId: earlier.messageId, MD5OfMessageBody: md5, SequenceNumber: '0' };
    }
    const messageId = randomUUID();
    this.seen.set(deduplicationId, { messageId, at: now });
    this.held.push({ messageId, body, group, visibleAt: now + this.delayMs });
    this.sent += 1;
    return { MessageId: messageId, MD5OfMessageBody: md5, SequenceNumber: String(this.sent) };
  }

  /**
   * Lambda's poller with reserved concurrency 1: long polling returns a message as soon as
   * it is visible (checked every `tickMs`); a failed batch becomes visible again after
   * `retryMs` (the visibility timeout, shortened).
   */
  poll(handler: (event: SQSEvent) => Promise<unknown>, tickMs = 20, retryMs = 1_000): void {
    this.running = true;
    const loop = async () => {
      while (this.running) {
        const now = Date.now();
        const first = this.held.find((m) => m.visibleAt <= now && !this.inFlight.has(m.group));
        if (!first) {
          await sleep(tickMs);
          continue;
        }
        const batch = this.held
          .filter((m) => m.group === first.group && m.visibleAt <= now)
          .slice(0, 10);
        this.inFlight.add(first.group);
        try {
          await handler(sqsEventOf(batch));
          for (const m of batch) this.held.splice(this.held.indexOf(m), 1);
        } catch {
          for (const m of batch) m.visibleAt = Date.now() + retryMs;
        } finally {
          this.inFlight.delete(first.group);
        }
      }
    };
    this.loop = loop();
  }

  get depth(): number {
    return this.held.length;
  }

  /** Waits for the invocation in flight, then closes. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sqsEventOf(batch: Held[]): SQSEvent {
  return {
    Records: batch.map((m) => ({
      messageId: m.messageId,
      receiptHandle: m.messageId,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(m.visibleAt),
        SenderId: 'changes',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: m.group,
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:allowlist-rebuild.fifo',
      awsRegion: 'eu-west-1',
    })),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
