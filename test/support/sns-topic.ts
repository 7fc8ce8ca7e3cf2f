import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  subject?: string;
  body: string;
  attributes: Map<string, string>;
}

/**
 * An SNS topic on loopback as the real SNS client sees it: the AWS Query protocol's `Publish`
 * (form-encoded request, XML response). Each accepted message goes to the subscribers, as a
 * raw-delivery SQS subscription would receive it.
 */
export class LoopbackTopic {
  readonly published: PublishedMessage[] = [];
  private readonly subscribers: ((message: PublishedMessage) => void)[] = [];
  private readonly server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const form = new URLSearchParams(text);
      if (form.get('Action') !== 'Publish' || !form.get('TopicArn') || !form.get('Message')) {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>${form.get('Action')}</Message></Error><RequestId>x</RequestId></ErrorResponse>`,
        );
        return;
      }
      const attributes = new Map<string, string>();
      for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
        attributes.set(
          String(form.get(`MessageAttributes.entry.${n}.Name`)),
          String(form.get(`MessageAttributes.entry.${n}.Value.StringValue`)),
        );
      }
      const message: PublishedMessage = {
        messageId: randomUUID(),
        topicArn: String(form.get('TopicArn')),
        ...(form.has('Subject') && { subject: String(form.get('Subject')) }),
        body: String(form.get('Message')),
        attributes,
      };
      this.published.push(message);
      for (const deliver of this.subscribers) deliver(message);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<PublishResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${message.messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    });
  });
  url = '';

  subscribe(deliver: (message: PublishedMessage) => void): void {
    this.subscribers.push(deliver);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
