import type { Allowlist, AllowlistEntry, NotAdmittedCode } from '../../shared/domain/allowlist';
import { parseImageReference } from '../../shared/domain/image-ref';

/**
 * A verified allowlist prepared for admission: repositories re-keyed to the canonical form
 * `parseImageReference` gives user references (so `Registry.Example:443/app` and
 * `registry.example/app` are one key), a tag map for `resolveTags`, and the set of
 * registries it covers. Every lookup is a hash lookup.
 */
export interface AllowlistIndex {
  allowlist: Allowlist;
  registries: ReadonlySet<string>;
  /** repository → tag → digest; `null` when two digests claim the tag. */
  tags: ReadonlyMap<string, ReadonlyMap<string, string | null>>;
  digests: number;
  /**
   * repository → digest → why it is not admitted, when the document says (its
   * `notAdmitted` section); `complete`: a digest in neither map was never judged.
   */
  refused?: {
    complete: boolean;
    byRepository: ReadonlyMap<string, ReadonlyMap<string, NotAdmittedCode>>;
  };
  /** Repository keys that are not image names; left out and reported. */
  skipped: string[];
  validUntilMs: number;
  generatedAtMs: number;
}

const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];

export function indexAllowlist(
  allowlist: Allowlist,
  options: { tags: boolean } = { tags: true },
): AllowlistIndex {
  const images: Record<string, Record<string, AllowlistEntry>> = Object.create(null);
  // Entries are shared by (verdict, expiresAt) and carry no tags (those live in `tags`):
  // a 100,000-digest allowlist then holds one string per digest instead of four objects,
  // which keeps full garbage collections (and admission tail latency) short.
  const shared = new Map<string, AllowlistEntry>();
  const compact = (entry: AllowlistEntry): AllowlistEntry => {
    const key = `${entry.verdict}|${entry.expiresAt ?? ''}`;
    let found = shared.get(key);
    if (!found) {
      found = Object.freeze({
        verdict: entry.verdict,
        tags: NO_TAGS,
        ...(entry.expiresAt && { expiresAt: entry.expiresAt }),
      });
      shared.set(key, found);
    }
    return found;
  };
  const registries = new Set<string>();
  const tags = new Map<string, Map<string, string | null>>();
  const skipped: string[] = [];
  let digests = 0;
  for (const [key, entries] of Object.entries(allowlist.images)) {
    const repository = canonicalRepository(key);
    if (!repository) {
      skipped.push(key);
      continue;
    }
    registries.add(repository.registry);
    const records: Record<string, AllowlistEntry> =
      (Object.hasOwn(images, repository.key) ? images[repository.key] : undefined) ??
      Object.create(null);
    images[repository.key] = records;
    for (const [digest, entry] of Object.entries(entries)) {
      if (!Object.hasOwn(records, digest)) digests += 1;
      records[digest] = compact(entry);
      if (!options.tags) continue;
      const byTag = tags.get(repository.key) ?? new Map<string, string | null>();
      tags.set(repository.key, byTag);
      for (const tag of entry.tags) {
        const claimed = byTag.get(tag);
        byTag.set(tag, claimed === undefined || claimed === digest ? digest : null);
      }
    }
  }
  const { notAdmitted, ...rest } = allowlist;
  return {
    // The section is only for messages: it lives in `refused`, never beside the entries.
    allowlist: { ...rest, images },
    registries,
    tags,
    digests,
    ...(notAdmitted && { refused: refusedIndex(notAdmitted) }),
    skipped,
    validUntilMs: Date.parse(allowlist.validUntil),
    generatedAtMs: Date.parse(allowlist.generatedAt),
  };
}

function canonicalRepository(key: string): { key: string; registry: string } | undefined {
  try {
    const ref = parseImageReference(key);
    if (ref.tag || ref.digest) return undefined;
    return { key: `${ref.registry}/${ref.repository}`, registry: ref.registry };
  } catch {
    return undefined;
  }
}

function refusedIndex(section: NonNullable<Allowlist['notAdmitted']>): AllowlistIndex['refused'] {
  const byRepository = new Map<string, Map<string, NotAdmittedCode>>();
  for (const [key, digests] of Object.entries(section.images)) {
    const repository = canonicalRepository(key);
    if (!repository) continue;
    const codes = byRepository.get(repository.key) ?? new Map<string, NotAdmittedCode>();
    byRepository.set(repository.key, codes);
    for (const [digest, code] of Object.entries(digests)) codes.set(digest, code);
  }
  return { complete: section.complete, byRepository };
}
