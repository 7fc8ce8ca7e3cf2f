import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_TABLE, startLocalDynalite } from '../../cli/local/local-table';
import { DynamoDbFindingsFacts } from '../../shared/adapters/aws/dynamodb-findings-facts';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { openLocalTable } from '../../shared/composition/local';
import { evaluate } from '../../shared/domain/evaluate';
import { factsOfScan } from '../../shared/domain/findings-facts';
import { imageId } from '../../shared/domain/image-ref';
import {
  deletedDraft,
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictRecord,
} from '../../shared/domain/verdict-record';
import type { FindingsFactsStore, VerdictStore } from '../../shared/ports';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { runCli } from '../support/cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const ENV = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
];
const failing = keyOf('prod/api', 1);
const gone = keyOf('prod/api', 2);
const large = keyOf('prod/api', 3);
const summary = { state: 'complete', status: 'COMPLETE', scanner: 'inspector' } as const;

/** Writes verdicts as the evaluate function does: PASS, then FAIL; and a PASS then deleted. */
async function fill(store: VerdictStore): Promise<void> {
  const policy = policyOf('defaults:\n  block: { severity: HIGH }\n');
  const judge = async (key: typeof failing, at: string, findings = [finding('CVE-1', 'LOW')]) => {
    const previous = await store.get(key);
    const e = evaluate({
      image: key,
      scan: completeScan(findings),
      policy,
      now: new Date(at),
      previous: previousEvaluation(previous),
    });
    const plan = planWrite(
      previous,
      draftFrom({ key, tags: ['1.4.2'] }, summary, e, undefined, previous),
    );
    await store.write(plan);
    return plan.record;
  };
  await judge(failing, '2026-11-20T00:00:00Z');
  await judge(failing, '2026-11-21T00:00:00Z', [
    finding('CVE-2024-9', 'CRITICAL', {
      package: { name: 'openssl', version: '3.0.1' },
      fixedIn: '3.0.9',
    }),
  ]);
  const admitted: VerdictRecord = await judge(gone, '2026-11-20T00:00:00Z');
  await store.write(planWrite(admitted, deletedDraft(admitted, new Date('2026-11-22T00:00:00Z'))));
}

/** A FAIL on 25 blocking findings, stored with its facts as evaluate stores them. */
async function fillLarge(store: VerdictStore, facts: FindingsFactsStore): Promise<void> {
  const findings = Array.from({ length: 25 }, (_, i) =>
    finding(`CVE-2025-${String(2000 + i)}`, 'HIGH', {
      package: { name: `lib${i}`, version: '1' },
      fixedIn: `2.${i}`,
    }),
  );
  const scan = {
    ...completeScan([...findings, finding('CVE-2025-9999', 'LOW')]),
    scanner: 'inspector' as const,
  };
  const stored = factsOfScan(large, scan);
  if (!stored) throw new Error('a complete scan has facts');
  const ref = await facts.put(stored);
  const e = evaluate({
    image: large,
    scan,
    policy: policyOf('defaults:\n  block: { severity: HIGH }\n'),
    now: new Date('2026-11-22T00:00:00Z'),
  });
  const draft = draftFrom({ key: large, tags: ['big'] }, summary, e, undefined, undefined);
  await store.write(planWrite(undefined, { ...draft, facts: [ref] }));
}

describe('registry-watcher explain', () => {
  let dynamo: LocalDynamo;
  let table: string;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

  beforeAll(async () => {
    dynamo = await startDynalite();
    table = await dynamo.newTable();
    const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
    await fill(store);
    await fillLarge(
      store,
      new DynamoDbFindingsFacts({ tableName: table, client: dynamo.documents }),
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'eu-west-1',
    });
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await dynamo.stop();
  });

  it('explains a FAIL from the deployed table: reason, finding, fix and both transitions', async () => {
    const { code, out } = await runCli([
      'explain',
      imageId(failing),
      '--table',
      table,
      '-o',
      'json',
    ]);
    expect(code).toBe(0);
    const e = JSON.parse(out);
    expect(e).toMatchObject({ standing: 'failed', verdict: 'FAIL', tags: ['1.4.2'] });
    expect(e.reasons[0]).toMatchObject({ code: 'VULNERABILITY', findings: ['CVE-2024-9'] });
    expect(
      e.history.map(
        (h: { previousVerdict?: string; verdict: string }) =>
          `${h.previousVerdict ?? 'new'}>${h.verdict}`,
      ),
    ).toEqual(['PASS>FAIL', 'new>PASS']);
    expect(e.actions).toEqual([
      'CVE-2024-9 (CRITICAL): upgrade openssl 3.0.1 to 3.0.9 and push a new image',
    ]);
  });

  it('prints a table for people; a tag finds the digest', async () => {
    const { code, out } = await runCli([
      'explain',
      `${failing.registry}/prod/api:1.4.2`,
      '--table',
      table,
    ]);
    expect(code).toBe(0);
    // Both digests carry the tag: the one judged last comes first.
    expect(out.indexOf(failing.digest)).toBeGreaterThanOrEqual(0);
    expect(out).toContain('FAIL: denied: failed');
    expect(out).toContain('CRITICAL      CVE-2024-9         openssl 3.0.1  fix 3.0.9  BLOCKING');
    expect(out).toContain('denied: deleted from the registry');
    expect(out).toMatch(/History \(newest first\)\n {2}2026-11-22T00:00:00.000Z {2}PASS → deleted/);
  });

  it('lists every deciding finding from the stored facts: 20 for people, all in JSON', async () => {
    const text = await runCli(['explain', imageId(large), '--table', table]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(
      'Findings that decided it (25, from the stored facts; 1 other finding(s) decided nothing)',
    );
    expect(text.out).toContain('HIGH          CVE-2025-2019      lib19 1  fix 2.19  BLOCKING');
    expect(text.out).not.toContain('CVE-2025-2020      lib20');
    expect(text.out).toContain('  … 5 more finding(s) (-o json lists all)');
    expect(text.out).toContain('  … 5 more step(s) (-o json lists all)');
    const json = await runCli(['explain', imageId(large), '--table', table, '-o', 'json']);
    const e = JSON.parse(json.out);
    expect(e.findings).toHaveLength(25);
    expect(e.findings[24]).toMatchObject({
      id: 'CVE-2025-2024',
      fixedIn: '2.24',
      role: 'blocking',
    });
    expect(e.actions).toHaveLength(25);
  });

  it('says never evaluated for a digest the table does not hold', async () => {
    const { code, out } = await runCli([
      'explain',
      imageId(keyOf('prod/api', 99)),
      '--table',
      table,
    ]);
    expect(code).toBe(0);
    expect(out).toContain('no verdict: denied: never evaluated');
  });

  it('names a missing table and a tag no digest carries, with what to do', async () => {
    const missing = await runCli(['explain', imageId(failing), '--table', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /there is no table nope in eu-west-1: pass --table \(the stack output TableName\)/,
    );
    const tag = await runCli(['explain', `${failing.registry}/prod/api:9.9`, '--table', table]);
    expect(tag.code).toBe(1);
    expect(tag.err).toContain('carries tag "9.9": pin the digest the pod runs');
    const none = await runCli(['explain', imageId(failing)]);
    expect(none.code).toBe(2);
  });

  it('reads the table npm start leaves with --local', async () => {
    const data = mkdtempSync(join(tmpdir(), 'explain-local-'));
    expect((await runCli(['explain', imageId(failing), '--local', '--data', data])).err).toContain(
      'does not exist: run npm start first',
    );
    const server = await startLocalDynalite(data, true);
    const local = await openLocalTable(server.endpoint, LOCAL_TABLE);
    await fill(local.store);
    local.destroy();
    await server.close();
    const { code, out } = await runCli([
      'explain',
      imageId(gone),
      '--local',
      '--data',
      data,
      '-o',
      'json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      standing: 'deleted',
      deletedAt: '2026-11-22T00:00:00.000Z',
    });
  });
});
