import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent } from 'aws-lambda';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

interface Held {
  messageId: string;
  body: string;
  visibleAt: number;
  receipt?: string;
  receives: number;
}

/**
 * A standard SQS queue on loopback, as far as a consumer sees it: Lambda's poller is the
 * test (`receive` at a given time, `remove` after success) and the function talks to the
 * real SQS client, which reaches `ChangeMessageVisibility` and `SendMessage` here (AWS JSON
 * 1.0 protocol; the queue URL is the server's own).
 */
export class LoopbackQueue {
  private readonly held: Held[] = [];
  private readonly server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const input = JSON.parse(text || '{}') as {
        ReceiptHandle?: string;
        VisibilityTimeout?: number;
        QueueUrl?: string;
        MessageBody?: string;
      };
      const message = this.held.find((m) => m.receipt === input.ReceiptHandle);
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      if (target === 'AmazonSQS.SendMessage') {
        if (input.QueueUrl !== this.url || typeof input.MessageBody !== 'string') {
          reply(400, { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'bad request' });
          return;
        }
        const id = this.send(input.MessageBody);
        reply(200, { MessageId: id, MD5OfMessageBody: md5(input.MessageBody) });
        return;
      }
      if (target !== 'AmazonSQS.ChangeMessageVisibility') {
        reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: target });
        return;
      }
      const seconds = input.VisibilityTimeout ?? -1;
      if (!message || seconds < 0 || seconds > 43_200) {
        reply(400, { __type: 'com.amazonaws.sqs#ReceiptHandleIsInvalid', message: 'bad request' });
        return;
      }
      this.visibilityChanges.push(seconds);
      message.visibleAt = this.now() + seconds * 1000;
      reply(200, {});
    });
  });
  readonly visibilityChanges: number[] = [];
  url = '';

  /** `visibilityMs`: the queue's own visibility timeout; `now`: the test's clock. */
  constructor(
    private readonly now: () => number,
    private readonly visibilityMs: number,
  ) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  send(body: string): string {
    const messageId = randomUUID();
    this.held.push({ messageId, body, visibleAt: this.now(), receives: 0 });
    return messageId;
  }

  /** What a poll at the current time gets: the visible messages, now in flight. */
  receive(): SQSEvent {
    const visible = this.held.filter((m) => m.visibleAt <= this.now());
    for (const m of visible) {
      m.receives += 1;
      m.receipt = `${m.messageId}#${m.receives}`;
      m.visibleAt = this.now() + this.visibilityMs;
    }
    return {
      Records: visible.map((m) => ({
        messageId: m.messageId,
        receiptHandle: m.receipt ?? '',
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receives),
          SentTimestamp: '0',
          SenderId: 'sns',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:notify',
        awsRegion: 'eu-west-1',
      })),
    };
  }

  /** Lambda deletes what the function did not report as a batch item failure. */
  settle(event: SQSEvent, failed: { itemIdentifier: string }[]): void {
    const keep = new Set(failed.map((f) => f.itemIdentifier));
    for (const record of event.Records) {
      if (keep.has(record.messageId)) continue;
      const at = this.held.findIndex((m) => m.messageId === record.messageId);
      if (at >= 0) this.held.splice(at, 1);
    }
  }

  get depth(): number {
    return this.held.length;
  }
}
