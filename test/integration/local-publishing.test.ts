import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocalPublishing } from '../../cli/local/publishing';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { ChangeRecorder } from '../../shared/adapters/local/change-recorder';
import type { VerdictValue } from '../../shared/domain/verdict';
import { planWrite } from '../../shared/domain/verdict-record';
import { draftOf, keyOf } from '../support/builders';
import { runCli } from '../support/cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
const posted: { text: string }[] = [];
const slack = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    posted.push(JSON.parse(body));
    res.end('ok');
  });
});
let slackUrl = '';

beforeAll(async () => {
  dynamo = await startDynalite();
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T/B/local`;
});
afterAll(async () => {
  await dynamo.stop();
  await new Promise((resolve) => slack.close(resolve));
});

function output() {
  const lines: string[] = [];
  return { lines, io: { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) } };
}

it('npm start publishing: verdict events to Slack, digest, signed allowlist in a folder then in s3rver', async () => {
  const table = await dynamo.newTable('local');
  const dataDir = mkdtempSync(join(tmpdir(), 'rw-local-'));
  const recorder = new ChangeRecorder(
    new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents }),
    dynamo.documents,
    table,
  );
  const verdicts: VerdictValue[] = ['PASS', 'WARN', 'FAIL'];
  for (const [i, verdict] of verdicts.entries()) {
    const key = keyOf('prod/api', i + 1);
    await recorder.write(
      planWrite(
        undefined,
        draftOf(key, { tags: [`1.${i}.0`], verdict, evaluatedAt: new Date().toISOString() }),
      ),
    );
  }
  const common = {
    dataDir,
    documents: dynamo.documents,
    table,
    policyHash: 'sha256:p',
    slackWebhookUrl: slackUrl,
    slackMinIntervalMs: 0,
  };

  const first = output();
  await runLocalPublishing({ ...common, io: first.io, changes: recorder.drain() });
  expect(posted.map((p) => p.text)).toEqual([
    expect.stringMatching(/^new → PASS: prod\/api:1\.0\.0/),
    expect.stringMatching(/^new → WARN: prod\/api:1\.1\.0/),
    expect.stringMatching(/^new → FAIL: prod\/api:1\.2\.0/),
    expect.stringMatching(/^registry-watcher daily digest .*: 1 new FAIL, 1 FAIL of 3/),
  ]);
  const text = first.lines.join('\n');
  expect(text).toContain('3 verdict event(s) published');
  expect(text).toMatch(/sequence 1: 2 digest\(s\)/);
  expect(text).toContain('verified as a consumer would');
  const folder = join(dataDir, 'allowlist');
  const cli = await runCli([
    'allowlist',
    'verify',
    join(folder, 'allowlist.json'),
    '--key',
    join(folder, 'allowlist.pub'),
  ]);
  expect(cli.code).toBe(0);
  expect(cli.out).toContain('2 digests (1 PASS, 1 WARN) in 1 repositories');

  // Second run: nothing changed, the same key signs a higher sequence, now through the S3 API.
  const second = output();
  await runLocalPublishing({
    ...common,
    io: second.io,
    changes: recorder.drain(),
    allowlist: 's3://allowlists/prod',
  });
  expect(posted).toHaveLength(5); // only the digest
  const again = second.lines.join('\n');
  expect(again).toContain('0 verdict event(s) published');
  expect(again).toMatch(/s3:\/\/allowlists\/prod at http:\/\/127\.0\.0\.1:\d+ \(s3rver/);
  expect(again).toMatch(/sequence 2: 2 digest\(s\)/);
  expect(again).toContain('sequence 2 ≥ 1');
});
