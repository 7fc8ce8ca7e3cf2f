import { ImageNotFoundError } from '../domain/errors';
import { type Explanation, explain } from '../domain/explain';
import { parseImageReference } from '../domain/image-ref';
import type { VerdictRecord } from '../domain/verdict-record';
import type { VerdictReader } from '../ports/questions';

/**
 * `registry-watcher explain REF`: a digest reference explains that digest (stored or not);
 * a tag explains every stored digest of the repository that carries it (several while a
 * tag moves, or for a re-pushed one).
 */
export async function explainReference(
  reference: string,
  reader: VerdictReader,
  now: Date,
): Promise<Explanation[]> {
  const ref = parseImageReference(reference);
  const { registry, repository } = ref;
  if (ref.digest) {
    const key = { registry, repository, digest: ref.digest };
    const [record, history] = await Promise.all([reader.current(key), reader.history(key)]);
    return [explain(key, record, history, now)];
  }
  const tag = ref.tag ?? 'latest';
  const records = await reader.tagged(registry, repository, tag);
  if (records.length === 0) {
    throw new ImageNotFoundError(
      `no stored verdict of ${registry}/${repository} carries tag "${tag}": pin the digest the pod runs (kubectl get pod -o jsonpath='{.status.containerStatuses[*].imageID}') and explain that`,
    );
  }
  return Promise.all(
    records
      .sort(byEvaluatedAt)
      .map(async (record) => explain(record, record, await reader.history(record), now)),
  );
}

/** Newest verdict first: the digest the tag names now, then those it named before. */
function byEvaluatedAt(a: VerdictRecord, b: VerdictRecord): number {
  const at = (r: VerdictRecord) => r.transitionAt ?? r.evaluatedAt;
  return at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0;
}
