import { ImageNotFoundError } from '../domain/errors';
import { type Explanation, explain } from '../domain/explain';
import type { FindingsFacts } from '../domain/findings-facts';
import { parseImageReference } from '../domain/image-ref';
import type { VerdictRecord } from '../domain/verdict-record';
import type { FleetScan, VerdictReader } from '../ports/questions';

/** Reads one manifest's stored facts (the fleet read's `facts`). */
export type FactsSource = Pick<FleetScan, 'facts'>;

/**
 * `registry-watcher explain REF`: a digest reference explains that digest (stored or not);
 * a tag explains every stored digest of the repository that carries it (several while a
 * tag moves, or for a re-pushed one).
 */
export async function explainReference(
  reference: string,
  reader: VerdictReader,
  now: Date,
  facts?: FactsSource,
): Promise<Explanation[]> {
  const ref = parseImageReference(reference);
  const { registry, repository } = ref;
  if (ref.digest) {
    const key = { registry, repository, digest: ref.digest };
    const [record, history] = await Promise.all([reader.current(key), reader.history(key)]);
    return [explain(key, record, history, now, await factsOf(record, facts))];
  }
  const tag = ref.tag ?? 'latest';
  const records = await reader.tagged(registry, repository, tag);
  if (records.length === 0) {
    throw new ImageNotFoundError(
      `no stored verdict of ${registry}/${repository} carries tag "${tag}": pin the digest the pod runs (kubectl get pod -o jsonpath='{.status.containerStatuses[*].imageID}') and explain that`,
    );
  }
  return Promise.all(
    records.sort(byEvaluatedAt).map(async (record) => {
      const [history, judgedOn] = await Promise.all([
        reader.history(record),
        factsOf(record, facts),
      ]);
      return explain(record, record, history, now, judgedOn);
    }),
  );
}

/** The facts the verdict names, as stored (one per judged manifest); those gone are left out. */
async function factsOf(
  record: VerdictRecord | undefined,
  source: FactsSource | undefined,
): Promise<FindingsFacts[]> {
  if (!record || !source) return [];
  const read = await Promise.all(
    (record.facts ?? []).map((ref) => source.facts({ ...record, digest: ref.digest }, ref)),
  );
  return read.filter((f): f is FindingsFacts => f !== undefined);
}

/** Newest verdict first: the digest the tag names now, then those it named before. */
function byEvaluatedAt(a: VerdictRecord, b: VerdictRecord): number {
  const at = (r: VerdictRecord) => r.transitionAt ?? r.evaluatedAt;
  return at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0;
}
