import { SQSClient } from '@aws-sdk/client-sqs';
import { createHandler } from '../../functions/attestor/handler';
import { awsClient } from '../../shared/adapters/aws/clients';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { SqsAttestationRequests } from '../../shared/adapters/aws/sqs-attestation-requests';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { readAttestations, verifyAttestation } from '../../shared/adapters/sigstore/attestations';
import { RegistryVerdictAttestor } from '../../shared/adapters/sigstore/verdict-attestor';
import { VULN_PREDICATE_TYPE, type VulnPredicate } from '../../shared/domain/attestation';
import type { ImageKey } from '../../shared/domain/image-ref';
import type { VerdictStore } from '../../shared/ports';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, finding, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { pushImage } from '../support/oci-images';
import { type LocalRegistry, startRegistry } from '../support/registry';
import { LoopbackQueue } from '../support/sqs-queue';

/**
 * The attestor split end to end on loopback: evaluate (no signer, no registry write) sends
 * its request with the real SQS client to a queue; the attestor handler reads the verdict
 * from dynalite, signs it and pushes both formats to the real docker-registry.
 */
describe('evaluate asks, the attestor signs and attaches (real registry, dynalite, SQS wire)', () => {
  let registry: LocalRegistry;
  let dynamo: LocalDynamo;
  let client: RegistryClient;
  let sqs: SQSClient;
  let nowMs = Date.parse('2026-11-23T10:00:00Z');
  const queue = new LoopbackQueue(() => nowMs, 6 * 60_000);
  const signer = new FileSigner(generatePrivateKeyPem());
  const sink = { addMetric: () => undefined, publishStoredMetrics: () => undefined };
  const AT = '2026-11-23T10:00:00.000Z';

  beforeAll(async () => {
    [registry, dynamo] = await Promise.all([startRegistry(), startDynalite(), queue.start()]);
    client = new RegistryClient({ registry: registry.host });
    sqs = awsClient(SQSClient, {
      endpoint: queue.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    sqs.destroy();
    await Promise.all([registry.stop(), dynamo.stop(), queue.stop()]);
  });

  async function setup(repository: string) {
    const image = await pushImage(client, repository, { tag: 'v1' });
    const key: ImageKey = { registry: registry.host, repository, digest: image.digest };
    const world = new MemoryRegistry();
    world.put(
      { key, tags: ['v1'], mediaType: image.mediaType },
      completeScan([finding('CVE-2026-1', 'LOW')]),
    );
    const table = await dynamo.newTable();
    const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
    // Holds evaluate's writes back while `held` is set: the attestor then runs first.
    let held: Promise<void> | undefined;
    const evaluateStore: VerdictStore = {
      get: (k) => store.get(k),
      getMany: (keys) => store.getMany(keys),
      write: async (plan) => {
        // the quiet touch, which the store leaves out, goes through: the mark's write waits
        if (!plan.quiet) await held;
        await store.write(plan);
      },
    };
    const evaluate = (trigger: 'push' | 'rescan' = 'push') =>
      evaluateImage(
        { key, trigger },
        {
          images: world,
          findings: world,
          store: evaluateStore,
          policy: policyOf(),
          attestor: new SqsAttestationRequests(queue.url, sqs),
          clock: () => new Date(nowMs),
        },
      );
    const attestor = createHandler(
      () => ({
        store,
        attestor: new RegistryVerdictAttestor({ clientFor: () => client, signer }),
        registries: [registry.host],
        clock: () => new Date(nowMs),
      }),
      sink,
    );
    /** One poll of the attestor queue, settled as Lambda would. */
    const drain = async () => {
      const event = queue.receive();
      const out = await attestor(event);
      queue.settle(event, out.batchItemFailures);
      return { received: event.Records.length, failed: out.batchItemFailures.length };
    };
    const hold = () => {
      let release = () => {};
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        held = undefined;
        release();
      };
    };
    return { key, world, store, evaluate, rescan: () => evaluate('rescan'), drain, attestor, hold };
  }

  async function verdictsIn(key: ImageKey, withTime = false) {
    const publicKeyPem = await signer.publicKeyPem();
    const read = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    return read
      .map((a) => {
        const { statement } = verifyAttestation(a, key.digest, {
          keys: [{ name: 'watcher', publicKeyPem }],
          keyless: [],
        });
        const { result } = (statement.predicate as VulnPredicate).scanner;
        return withTime ? `${a.format} ${result.evaluatedAt}` : `${a.format} ${result.verdict}`;
      })
      .sort();
  }

  it('THEN a due verdict becomes one request; the attestor attaches it in both formats, signed with its key', async () => {
    const { key, store, evaluate, drain } = await setup('split/app');
    const result = await evaluate();
    expect(result.attested).toBe(true);
    // evaluate records the request, not an attestation it never made
    expect((await store.get(key))?.attestation).toEqual({
      requestedAt: new Date(nowMs).toISOString(),
    });
    expect(queue.depth).toBe(1);
    expect(await verdictsIn(key)).toEqual([]);

    expect(await drain()).toEqual({ received: 1, failed: 0 });
    expect(queue.depth).toBe(0);
    expect(await verdictsIn(key)).toEqual(['cosign-legacy PASS', 'sigstore-bundle PASS']);

    // nothing due a minute later: no request
    nowMs += 60_000;
    expect((await evaluate()).attested).toBeUndefined();
    expect(queue.depth).toBe(0);
  });

  it('THEN the attestor signs the verdict the table holds: a FAIL that overtook the request replaces the PASS', async () => {
    const { key, world, evaluate, drain } = await setup('split/moved');
    await evaluate();
    // a new CRITICAL before the attestor ran: the next evaluation transitions and asks again
    nowMs += 60_000;
    world.putScan(key, completeScan([finding('CVE-2026-9', 'CRITICAL')]));
    expect((await evaluate()).record?.verdict).toBe('FAIL');
    expect(queue.depth).toBe(2);
    // both requests attest what the table holds when the attestor runs: one verdict layer
    expect(await drain()).toEqual({ received: 2, failed: 0 });
    expect(await verdictsIn(key)).toEqual(['cosign-legacy FAIL', 'sigstore-bundle FAIL']);
  });

  it('THEN a nightly refresh (a quiet touch, which writes no verdict) attests the fresh evaluation time, not the stored one', async () => {
    const { key, drain, rescan, evaluate, hold } = await setup('split/refresh');
    await evaluate();
    await drain();
    const pushedAt = new Date(nowMs).toISOString();
    expect(await verdictsIn(key, true)).toEqual([
      `cosign-legacy ${pushedAt}`,
      `sigstore-bundle ${pushedAt}`,
    ]);
    nowMs += 25 * 3600_000;
    const refreshedAt = new Date(nowMs).toISOString();
    // the request reaches the attestor before evaluate's write of the fresh record lands
    const release = hold();
    const evaluated = rescan();
    while (queue.depth === 0) await new Promise((r) => setTimeout(r, 10));
    expect(await drain()).toEqual({ received: 1, failed: 1 });
    expect(await verdictsIn(key, true)).toEqual([
      `cosign-legacy ${pushedAt}`,
      `sigstore-bundle ${pushedAt}`,
    ]);
    release();
    expect((await evaluated).attested).toBe(true);
    nowMs += 6 * 60_000; // the visibility timeout: the request comes back
    expect(await drain()).toEqual({ received: 1, failed: 0 });
    expect(await verdictsIn(key, true)).toEqual([
      `cosign-legacy ${refreshedAt}`,
      `sigstore-bundle ${refreshedAt}`,
    ]);
  });

  it('THEN a request for another registry, or a malformed one, is handed back (then the DLQ) and nothing is pushed', async () => {
    const { key, attestor } = await setup('split/refused');
    const bodies = [
      JSON.stringify({ ...key, registry: 'evil.example.com', version: 1, evaluatedAt: AT }),
      '{"registry":',
      JSON.stringify({ ...key, version: 1, evaluatedAt: AT, extra: true }),
    ];
    for (const body of bodies) queue.send(body);
    const event = queue.receive();
    const out = await attestor(event);
    expect(out.batchItemFailures).toHaveLength(3);
    queue.settle(event, out.batchItemFailures);
    expect(queue.depth).toBe(3);
    expect(await verdictsIn(key)).toEqual([]);
    nowMs += 60 * 60_000;
    queue.settle(queue.receive(), []);
  });

  it('THEN a request for an image without a verdict is done without signing anything', async () => {
    const { key, drain } = await setup('split/none');
    queue.send(JSON.stringify({ ...key, version: 1, evaluatedAt: AT }));
    expect(await drain()).toEqual({ received: 1, failed: 0 });
    expect(await verdictsIn(key)).toEqual([]);
  });
});
