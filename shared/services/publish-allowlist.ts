import {
  type AdmittedImage,
  type Allowlist,
  buildAllowlist,
  type RefusedImage,
  serialiseAllowlist,
} from '../domain/allowlist';
import { type Clock, type Log, type Signer, silentLog, systemClock } from '../ports';
import type {
  AdmittedImages,
  AllowlistSignatures,
  AllowlistStore,
  RefusedImages,
  SequenceCounter,
} from '../ports/publishing';

export interface PublishAllowlistOptions {
  admitted: AdmittedImages;
  sequence: SequenceCounter;
  signer: Signer;
  /** The signature's format (composition roots pass the sigstore bundle adapter). */
  signatures: AllowlistSignatures;
  store: AllowlistStore;
  /** Hash of the policy the watcher runs with, recorded in the document. */
  policyHash: string;
  /** How long consumers may use the document (validUntil = generatedAt + this). */
  validityMs: number;
  /**
   * With `maxNotAdmitted` > 0: the document's `notAdmitted` section, at most that many of the
   * newest refusals (entries whose admission ran out come first, as EXPIRED).
   */
  refused?: RefusedImages;
  maxNotAdmitted?: number;
  /** Records the rebuild requests named as changed: read by key, not from the index alone. */
  recheck?: readonly string[];
  clock?: Clock;
  log?: Log;
}

export interface PublishAllowlistResult {
  allowlist: Allowlist;
  bytes: number;
  digests: number;
  /** Entries left out because their own expiresAt had already passed. */
  expired: number;
  etag: string;
}

/**
 * The `allowlist` use case (single writer): read the admitted set, take the next
 * sequence, build the document of DESIGN §6, sign its exact bytes, check the signature,
 * and publish conditionally on the version read before the build.
 */
export async function publishAllowlist(
  options: PublishAllowlistOptions,
): Promise<PublishAllowlistResult> {
  const now = (options.clock ?? systemClock)();
  const previous = await options.store.current();
  const images: AdmittedImage[] = [];
  const lapsed: RefusedImage[] = [];
  const recheck = options.recheck ?? [];
  for await (const page of options.admitted.pages(recheck.length > 0 ? { recheck } : {})) {
    for (const image of page) {
      // Consumers would drop these anyway (isAllowed); leaving them out keeps it small.
      if (image.expiresAt && Date.parse(image.expiresAt) <= now.getTime()) {
        lapsed.push({ ...image, code: 'EXPIRED' });
      } else images.push(image);
    }
  }
  const notAdmitted = await refusals(options, lapsed);
  const sequence = await options.sequence.next((previous?.sequence ?? 0) + 1);
  const allowlist = buildAllowlist(images, {
    sequence,
    now,
    validityMs: options.validityMs,
    policyHash: options.policyHash,
    ...(notAdmitted && { notAdmitted }),
  });
  const document = serialiseAllowlist(allowlist);
  const [bundle, publicKeyPem] = await Promise.all([
    options.signatures.sign(document, options.signer),
    options.signer.publicKeyPem(),
  ]);
  // A signer that produces what consumers cannot verify must never publish.
  const problem = options.signatures.check(document, bundle, publicKeyPem);
  if (problem) throw problem.cause;
  const { etag } = await options.store.publish(
    { document, bundle, publicKeyPem, sequence },
    previous,
  );
  (options.log ?? silentLog).info('allowlist published', {
    sequence,
    digests: images.length,
    expired: lapsed.length,
    ...(notAdmitted && { notAdmitted: notAdmitted.images.length }),
    bytes: document.length,
    validUntil: allowlist.validUntil,
  });
  return {
    allowlist,
    bytes: document.length,
    digests: images.length,
    expired: lapsed.length,
    etag,
  };
}

/** The `notAdmitted` section's content: lapsed admissions first, then the newest refusals. */
async function refusals(
  options: PublishAllowlistOptions,
  lapsed: RefusedImage[],
): Promise<{ images: RefusedImage[]; complete: boolean } | undefined> {
  const max = options.maxNotAdmitted ?? 0;
  if (!options.refused || max <= 0) return undefined;
  const newest = await options.refused.newest(max);
  const all = [...lapsed, ...newest.images];
  return { images: all.slice(0, max), complete: newest.complete && all.length <= max };
}
