import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { LocalDynamo } from './dynalite';

type Image = Record<string, AttributeValue>;

/** The item exactly as DynamoDB stores it (AttributeValue JSON), as a stream image carries it. */
export async function rawItem(
  dynamo: LocalDynamo,
  table: string,
  pk: string,
  sk = 'CURRENT',
): Promise<Image | undefined> {
  const out = await dynamo.client.send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: { S: pk }, sk: { S: sk } },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

let sequence = 100_000_000_000_000_000_000n;

/**
 * A stream record in the shape Lambda delivers for a NEW_AND_OLD_IMAGES stream (dynalite has
 * no streams, so tests build records from the items before and after a real write).
 */
export function streamRecord(
  table: string,
  oldImage: Image | undefined,
  newImage: Image | undefined,
): DynamoDBRecord {
  const image = (newImage ?? oldImage) as Image;
  sequence += 1n;
  return {
    eventID: `c81e728d9d4c2f636f067f89cc14862c${String(sequence).slice(-6)}`,
    eventName: !oldImage ? 'INSERT' : !newImage ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: 1795680000,
      Keys: { pk: image.pk, sk: image.sk } as never,
      ...(newImage && { NewImage: newImage as never }),
      ...(oldImage && { OldImage: oldImage as never }),
      SequenceNumber: sequence.toString(),
      SizeBytes: JSON.stringify(newImage ?? oldImage).length,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: `arn:aws:dynamodb:eu-west-1:123456789012:table/${table}/stream/2026-11-20T09:00:00.000`,
  };
}

export function streamEvent(records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}
