/**
 * The webhook image reads the allowlist from S3 or HTTPS and nothing else of AWS: its
 * bundle (the esbuild build cluster/Dockerfile runs, read through its metafile) carries no
 * DynamoDB, SQS or SNS client, and nothing of the Lambdas or the CLI.
 */
import { build } from 'esbuild';
import { webhookBuildOptions } from '../../cluster/build';

const FORBIDDEN = [
  /node_modules\/@aws-sdk\/client-dynamodb\//,
  /node_modules\/@aws-sdk\/lib-dynamodb\//,
  /node_modules\/@aws-sdk\/util-dynamodb\//,
  /node_modules\/@aws-sdk\/client-sqs\//,
  /node_modules\/@aws-sdk\/client-sns\//,
  /^functions\//,
  /^cli\//,
];

let inputs: string[] = [];

beforeAll(async () => {
  const result = await build({
    ...webhookBuildOptions('webhook.js'),
    write: false,
    metafile: true,
  });
  inputs = Object.keys(result.metafile.inputs);
}, 60_000);

describe('the webhook bundle', () => {
  it('THEN its inputs are read: the webhook, the S3 client, the shared domain', () => {
    expect(inputs).toContain('cluster/webhook/decide.ts');
    expect(inputs.some((i) => i.includes('node_modules/@aws-sdk/client-s3/'))).toBe(true);
    expect(inputs).toContain('shared/domain/allowlist.ts');
  });

  it.each(FORBIDDEN.map((pattern) => [String(pattern), pattern] as const))(
    'THEN no input matches %s',
    (_name, pattern) => {
      expect(inputs.filter((input) => pattern.test(input))).toEqual([]);
    },
  );
});
