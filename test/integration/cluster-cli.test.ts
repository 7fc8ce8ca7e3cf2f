import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { bundleWebhook } from '../../cluster/build';
import { runCli } from '../support/cli';
import {
  admitted,
  digest,
  ECR,
  makeTls,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  writeWebhookFiles,
} from '../support/cluster';

const dir = mkdtempSync(join(tmpdir(), 'rw-cluster-cli-'));

describe('registry-watcher cluster kyverno-policy', () => {
  it('prints an ImageValidatingPolicy by default; --audit reports, warns and mutates nothing', async () => {
    const key = join(dir, 'verdicts.pub');
    const pem = await newSigner().publicKeyPem();
    writeFileSync(key, pem);
    const args = ['cluster', 'kyverno-policy', '--key', key, '--repositories', `${ECR}/prod/*`];
    const enforce = await runCli(args);
    expect(enforce.code).toBe(0);
    const policy = parse(enforce.out);
    expect(policy).toMatchObject({
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'ImageValidatingPolicy',
      spec: {
        validationActions: ['Deny'],
        matchImageReferences: [{ glob: `${ECR}/prod/*` }],
        validationConfigurations: { mutateDigest: true },
        attestors: [{ cosign: { key: { data: pem.trim() } } }],
      },
    });
    const audit = parse((await runCli([...args, '--audit'])).out);
    expect(audit.spec).toMatchObject({
      validationActions: ['Audit', 'Warn'],
      failurePolicy: 'Ignore',
      validationConfigurations: { mutateDigest: false },
    });
  });

  it('--kind ClusterPolicy prints a ClusterPolicy that checks our verdict attestation with our key', async () => {
    const key = join(dir, 'verdicts.pub');
    const pem = await newSigner().publicKeyPem();
    writeFileSync(key, pem);
    const { code, out } = await runCli([
      'cluster',
      'kyverno-policy',
      '--kind',
      'ClusterPolicy',
      '--key',
      key,
      '--repositories',
      `${ECR.toUpperCase()}:443/prod/*`,
      `${ECR}/team-a/**`,
    ]);
    expect(code).toBe(0);
    const policy = parse(out);
    expect(policy).toMatchObject({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' });
    const [verify] = policy.spec.rules[0].verifyImages;
    expect(verify.imageReferences).toEqual([`${ECR}/prod/*`, `${ECR}/team-a/**`]);
    expect(verify).toMatchObject({
      failureAction: 'Enforce',
      mutateDigest: true,
      verifyDigest: true,
      required: true,
    });
    const [attestation] = verify.attestations;
    expect(attestation.type).toBe('https://cosign.sigstore.dev/attestation/vuln/v1');
    expect(attestation.attestors[0].entries[0].keys).toMatchObject({
      publicKeys: pem.trim(),
      rekor: { ignoreTlog: true },
      ctlog: { ignoreSCT: true },
    });
    expect(attestation.conditions[0].all).toEqual([
      { key: '{{ scanner.result.verdict }}', operator: 'AnyIn', value: ['PASS', 'WARN'] },
      {
        key: "{{ time_since('', '{{ scanner.result.evaluatedAt }}', '') }}",
        operator: 'DurationLessThanOrEquals',
        value: '48h',
      },
      {
        key: "{{ time_before('{{ time_now_utc() }}', '{{ scanner.result.expiresAt || '9999-12-31T23:59:59Z' }}') }}",
        operator: 'Equals',
        value: true,
      },
    ]);
  });

  it.each([
    [['--key', 'missing.pub', '--repositories', `${ECR}/prod/*`], 'cannot read missing.pub'],
    [['--key', __filename, '--repositories', `${ECR}/prod/*`], '--key is not a PEM public key'],
    [['--key', 'KEY', '--repositories', 'prod/*'], 'must start with a registry host'],
    [
      ['--key', 'KEY', '--repositories', `${ECR}/x`, '--max-age', '2d'],
      'Kyverno durations have no days',
    ],
    [['--key', 'KEY', '--repositories', `${ECR}/x`, '--verdicts', 'OK'], '--verdicts: use some'],
  ])('fails with a clear message: %j', async (args, message) => {
    const key = join(dir, 'ok.pub');
    writeFileSync(key, await newSigner().publicKeyPem());
    const { code, err } = await runCli([
      'cluster',
      'kyverno-policy',
      ...args.map((a) => (a === 'KEY' ? key : a)),
    ]);
    expect(code).toBe(1);
    expect(err).toContain(message);
  });

  it('--kind takes ImageValidatingPolicy or ClusterPolicy (a usage error otherwise)', async () => {
    const { code, err } = await runCli(['cluster', 'kyverno-policy', '--kind', 'Policy']);
    expect(code).toBe(2);
    expect(err).toContain('Allowed choices are ImageValidatingPolicy, ClusterPolicy');
  });
});

describe('registry-watcher cluster webhook: settings errors', () => {
  it.each([
    [['--allowlist', 'a.json', '--key', 'k.pem', '--port', '0'], 'needs --tls-cert and --tls-key'],
    [['--key', 'k.pem', '--insecure-http'], 'allowlist.source'],
    [
      ['--allowlist', 'a.json', '--key', __filename, '--insecure-http', '--refresh', 'soon'],
      'allowlist.refreshInterval',
    ],
    [
      ['--allowlist', 'a.json', '--key', __filename, '--insecure-http', '--port', '0'],
      'is not a PEM public key',
    ],
  ])('%j', async (args, message) => {
    const { code, err } = await runCli(['cluster', 'webhook', ...args]);
    expect(code).toBe(1);
    expect(err).toContain(message);
  });
});

describe('the bundled webhook (what the image runs)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it('starts from the esbuild bundle, admits over HTTPS, logs JSON and stops on SIGTERM', async () => {
    const bundle = join(dir, 'webhook.js');
    await bundleWebhook(bundle);
    const tls = makeTls();
    const signer = newSigner();
    const signed = await signedAllowlist(signer, [admitted('prod/api', 1)], { sequence: 12 });
    const args = await writeWebhookFiles(dir, signer, signed, tls);
    const proc = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    const url = await new Promise<string>((resolve, reject) => {
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk;
        const match = /admission webhook on (\S+)/.exec(stderr);
        if (match?.[1]) resolve(match[1]);
      });
      proc.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const ready = async (): Promise<void> => {
      for (let i = 0; i < 50 && !stdout.includes('allowlist updated'); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await ready();
    const review = reviewWith('k8s/admission-review-pod', {
      containers: [`${ECR}/prod/api@${digest(1)}`],
    });
    const { body } = await post(`${url}/validate`, review, tls.ca);
    expect(body.response).toEqual({ uid: review.request.uid, allowed: true });

    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'INFO',
          message: 'allowlist updated',
          sequence: 12,
          digests: 1,
        }),
        expect.objectContaining({ message: 'shutting down', signal: 'SIGTERM' }),
      ]),
    );
  }, 20_000);
});
