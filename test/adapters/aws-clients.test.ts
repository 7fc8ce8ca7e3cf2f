import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient, sharedClient } from '../../shared/adapters/aws/clients';
import { documentClient } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { sharedEcrClient } from '../../shared/adapters/aws/ecr-calls';

describe('GIVEN adapters built without a client of their own', () => {
  it('THEN each client class is created once per container, with one SDK attempt', async () => {
    const sqs = sharedClient(SQSClient);
    expect(sharedClient(SQSClient)).toBe(sqs);
    expect(sharedClient(SNSClient)).not.toBe(sqs);
    expect(await sqs.config.maxAttempts()).toBe(1);
    // awsClient still builds a new one: for a region, an endpoint, a test.
    expect(awsClient(SQSClient)).not.toBe(sqs);
  });

  it('THEN every DynamoDB adapter shares one document client over the shared DynamoDB client', () => {
    const shared = documentClient();
    expect(documentClient()).toBe(shared);
    const own = new DynamoDBClient({ region: 'eu-west-1' });
    expect(documentClient(own)).not.toBe(shared);
  });

  it('THEN ECR clients are shared per region', async () => {
    expect(sharedEcrClient('eu-west-1')).toBe(sharedEcrClient('eu-west-1'));
    expect(sharedEcrClient('us-east-1')).not.toBe(sharedEcrClient('eu-west-1'));
    expect(await sharedEcrClient('us-east-1').config.region()).toBe('us-east-1');
  });
});
