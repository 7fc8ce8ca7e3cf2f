import type { AttestationRequest } from '../domain/attestation';
import { AttestationRefusedError, VerdictNotStoredError } from '../domain/errors';
import { imageId } from '../domain/image-ref';
import { type Clock, systemClock, type VerdictAttestor, type VerdictStore } from '../ports';

export interface AttestVerdictOptions {
  /** Read only: the attestor signs the verdict the table holds, not one a message carries. */
  store: Pick<VerdictStore, 'get'>;
  /** Signs and attaches (RegistryVerdictAttestor). */
  attestor: VerdictAttestor;
  /** Registry hosts the attestor signs for; any other is refused. */
  registries: readonly string[];
  clock?: Clock;
}

export type AttestOutcome =
  | { outcome: 'attested'; version: number; digest?: string }
  /** Nothing to attest: the image is gone, or its verdict was never stored. */
  | { outcome: 'skipped'; why: 'no-verdict' | 'deleted' };

/**
 * The attestor's use case (docs/signatures.md, "When"): reads the image's CURRENT verdict,
 * which is at least the version evaluate asked for (read consistently after evaluate wrote
 * it), and signs and attaches that. A newer verdict than asked is attested as it stands: the
 * registry holds one verdict layer per image. A failure throws, so its message is retried
 * and then kept in the attestor's DLQ.
 */
export async function attestVerdict(
  request: AttestationRequest,
  options: AttestVerdictOptions,
): Promise<AttestOutcome> {
  const { version, evaluatedAt, ...key } = request;
  if (!options.registries.includes(key.registry)) {
    throw new AttestationRefusedError(
      `${imageId(key)}: the attestor signs for ${options.registries.join(', ') || 'no registry'} only; a request for ${key.registry} is not one the watcher makes`,
    );
  }
  const record = await options.store.get(key);
  if (!record) return { outcome: 'skipped', why: 'no-verdict' };
  if (record.deletedAt) return { outcome: 'skipped', why: 'deleted' };
  // A nightly refresh asks before it writes the fresh evaluatedAt (a quiet touch writes
  // nothing): signing the older record would attest a stale evaluatedAt, which admission
  // policies check for freshness. Retried until the write lands.
  if (record.version < version || Date.parse(record.evaluatedAt) < Date.parse(evaluatedAt)) {
    throw new VerdictNotStoredError(
      `${imageId(key)}: the table holds version ${record.version} evaluated at ${record.evaluatedAt}, the request is for version ${version} evaluated at ${evaluatedAt}; retried until evaluate's write lands`,
    );
  }
  const now = (options.clock ?? systemClock)();
  const mark = await options.attestor.attest(record, now);
  return {
    outcome: 'attested',
    version: record.version,
    ...('digest' in mark && { digest: mark.digest }),
  };
}
