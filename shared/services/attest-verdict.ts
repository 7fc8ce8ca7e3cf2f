import type { AttestationRequest } from '../domain/attestation';
import { AttestationRefusedError } from '../domain/errors';
import { imageId } from '../domain/image-ref';
import {
  type Clock,
  type Log,
  silentLog,
  systemClock,
  type VerdictAttestor,
  type VerdictStore,
} from '../ports';

export interface AttestVerdictOptions {
  /** Read only: the attestor signs the verdict the table holds, not one a message carries. */
  store: Pick<VerdictStore, 'get'>;
  /** Signs and attaches (RegistryVerdictAttestor). */
  attestor: VerdictAttestor;
  /** Registry hosts the attestor signs for; any other is refused. */
  registries: readonly string[];
  clock?: Clock;
  log?: Log;
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
  const log = options.log ?? silentLog;
  const { version, ...key } = request;
  if (!options.registries.includes(key.registry)) {
    throw new AttestationRefusedError(
      `${imageId(key)}: the attestor signs for ${options.registries.join(', ') || 'no registry'} only; a request for ${key.registry} is not one the watcher makes`,
    );
  }
  const record = await options.store.get(key);
  if (!record) return { outcome: 'skipped', why: 'no-verdict' };
  if (record.deletedAt) return { outcome: 'skipped', why: 'deleted' };
  if (record.version < version) {
    // A consistent read never goes back; an older version means another table or a bug.
    log.warn('verdict older than the one asked for; attesting what the table holds', {
      image: imageId(key),
      asked: version,
      stored: record.version,
    });
  }
  const now = (options.clock ?? systemClock)();
  const mark = await options.attestor.attest(record, now);
  return {
    outcome: 'attested',
    version: record.version,
    ...('digest' in mark && { digest: mark.digest }),
  };
}
