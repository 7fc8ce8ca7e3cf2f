import type { SQSEvent, SQSRecord } from 'aws-lambda';

let counter = 0;

/** One SQS record carrying `body` (an EventBridge event or raw text), as Lambda receives it. */
export function sqsRecord(body: unknown, messageId = `msg-${++counter}`): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1795330964000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1795330964000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:registry-watcher-evaluate',
    awsRegion: 'eu-west-1',
  };
}

export function sqsEvent(bodies: unknown[]): SQSEvent {
  return { Records: bodies.map((b) => sqsRecord(b)) };
}
