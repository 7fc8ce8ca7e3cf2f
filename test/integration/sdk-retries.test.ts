import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { awsClient } from '../../shared/adapters/aws/clients';
import { documentClient } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { EcrScanStarter } from '../../shared/adapters/aws/ecr-scans';
import { ApiCallStats, pacedClient } from '../../shared/adapters/aws/paced-client';
import { DynamoDbRescanCheckpoints } from '../../shared/adapters/aws/rescan-checkpoints';
import { ApiPacer } from '../../shared/rate-limit';
import { keyOf } from '../support/builders';

/** An AWS endpoint on loopback that answers every request with one error and counts them. */
interface FailingEndpoint {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

async function failingEndpoint(status: number | 'reset', type: string): Promise<FailingEndpoint> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      // A dropped connection: the request arrived, no answer ever comes back.
      if (status === 'reset') return void req.socket.destroy();
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': `req-${requests}`,
      });
      res.end(JSON.stringify({ __type: type, message: `${type} from the test server` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const noWait = { sleep: async () => {} };
const DYNAMO_THROTTLE = 'com.amazonaws.dynamodb.v20120810#ThrottlingException';

let endpoint: FailingEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

describe('one retry layer: requests that reach a real endpoint', () => {
  it('a DynamoDB throttle costs exactly withRetry attempts (5), each paced and counted', async () => {
    endpoint = await failingEndpoint(400, DYNAMO_THROTTLE);
    const client = awsClient(DynamoDBClient, {
      endpoint: endpoint.url,
      region: 'eu-west-1',
      credentials,
    });
    const stats = new ApiCallStats();
    const waits: number[] = [];
    // The bucket's clock moves only by its waits: a slow machine cannot refill it meanwhile.
    let now = 0;
    const pacer = new ApiPacer(
      { GetItem: { perSecond: 10 } },
      {
        clock: () => new Date(now),
        sleep: async (ms) => {
          waits.push(ms);
          now += ms;
        },
      },
    );
    const checkpoints = new DynamoDbRescanCheckpoints({
      tableName: 'verdicts',
      client: pacedClient(documentClient(client), pacer, stats),
      retry: noWait,
    });
    await expect(checkpoints.load()).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(endpoint.requests()).toBe(5);
    expect(stats.snapshot()).toEqual({ GetItem: { calls: 5, throttles: 5 } });
    // The first attempt passes at once; each retry waited for the bucket (10/s: 100 ms apart).
    expect(waits.length).toBe(4);
    client.destroy();
  });

  it.each([
    [
      'a DynamoDB 500',
      500,
      'com.amazonaws.dynamodb.v20120810#InternalServerError',
      { $metadata: { httpStatusCode: 500 } },
    ],
    // As the SDK's Node handler names it; with SDK retries off nothing marks it $retryable.
    ['a dropped connection', 'reset', 'unused', { name: 'TimeoutError', code: 'ECONNRESET' }],
  ] as const)('%s is retried by withRetry alone: 5 requests', async (_, status, type, error) => {
    endpoint = await failingEndpoint(status, type);
    const client = awsClient(DynamoDBClient, {
      endpoint: endpoint.url,
      region: 'eu-west-1',
      credentials,
    });
    const checkpoints = new DynamoDbRescanCheckpoints({
      tableName: 'verdicts',
      client: documentClient(client),
      retry: noWait,
    });
    await expect(checkpoints.load()).rejects.toMatchObject(error);
    expect(endpoint.requests()).toBe(5);
    client.destroy();
  });

  it('an ECR StartImageScan throttle: 4 requests, counted as 4 throttles, reported throttled', async () => {
    endpoint = await failingEndpoint(400, 'ThrottlingException');
    const client = awsClient(ECRClient, {
      endpoint: endpoint.url,
      region: 'eu-west-1',
      credentials,
    });
    const stats = new ApiCallStats();
    const paced = pacedClient(client, new ApiPacer({}), stats);
    const scans = new EcrScanStarter({ clientFor: () => paced, retry: noWait });
    const key = keyOf('prod/api');
    expect((await scans.startScan(key)).result).toBe('throttled');
    expect(endpoint.requests()).toBe(4);
    expect(stats.snapshot()).toEqual({ StartImageScan: { calls: 4, throttles: 4 } });
    client.destroy();
  });
});
