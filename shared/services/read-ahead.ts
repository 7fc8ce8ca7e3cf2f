import type { EvaluateRequest } from '../domain/evaluate-request';
import { UNKNOWN_SCANNERS } from '../domain/findings';
import { type FindingsFacts, reusableRef } from '../domain/findings-facts';
import { imageId } from '../domain/image-ref';
import { type Log, silentLog } from '../ports';
import type { EvaluateImageOptions, ReadAhead } from './evaluate-image';
import { factsKeyOf } from './evaluate-image';

/**
 * Reads, for the nightly requests of a batch (those carrying the listing), every CURRENT
 * record and every stored facts item they may be judged from, in batches (BatchGetItem: 100
 * keys a call) instead of two GetItems an image. Stores without batch reads, or a failed
 * batch read, leave it to each evaluation to read its own (same items, same result).
 */
export async function readAhead(
  requests: EvaluateRequest[],
  options: Pick<EvaluateImageOptions, 'store' | 'facts' | 'findings' | 'log'>,
): Promise<Map<string, ReadAhead>> {
  const ahead = new Map<string, ReadAhead>();
  const nightly = [...new Map(requests.filter((r) => r.seen).map((r) => [imageId(r.key), r]))];
  if (nightly.length === 0 || !options.store.getMany) return ahead;
  const log: Log = options.log ?? silentLog;
  try {
    const records = await options.store.getMany(nightly.map(([, r]) => r.key));
    const wanted: {
      id: string;
      digest: string;
      key: EvaluateRequest['key'];
      ref: { scanner: FindingsFacts['scanner']; completedAt: string };
    }[] = [];
    for (const [id, request] of nightly) {
      const previous = records.get(id);
      ahead.set(id, { previous, facts: new Map() });
      // Single-manifest images only: an index's platforms are read by the evaluation.
      if (!previous || previous.deletedAt || request.seen?.platforms) continue;
      const ref = reusableRef(
        previous.facts,
        request.key.digest,
        request.seen?.scanCompletedAt,
        options.findings.scanners ?? UNKNOWN_SCANNERS,
      );
      if (ref) wanted.push({ id, digest: ref.digest, key: request.key, ref });
    }
    if (options.facts?.getMany && wanted.length > 0) {
      const found = await options.facts.getMany(wanted);
      wanted.forEach((w, i) => {
        const facts = found[i];
        if (facts) ahead.get(w.id)?.facts.set(factsKeyOf(w.digest, w.ref), facts);
      });
    }
  } catch (error) {
    log.warn('batch read failed; each evaluation reads its own items', {
      images: nightly.length,
      error: (error as Error).message,
    });
    ahead.clear();
  }
  return ahead;
}
