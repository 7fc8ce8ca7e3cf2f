import type { Allowlist, AllowlistEntry, NotAdmittedCode } from '../../shared/domain/allowlist';
import type { AllowlistIndex } from './allowlist-index';

/**
 * An AllowlistIndex taken apart into small plain messages (what the verifying worker posts)
 * and put back together on the serving thread one part at a time, so no single step holds
 * the event loop for long: receiving a part (structured clone) and adding it are both
 * bounded by the part's size.
 */

/** Everything but the entries, tags and refusals. */
export interface IndexHeader {
  allowlist: Omit<Allowlist, 'images' | 'notAdmitted'>;
  /** The shared (verdict, expiresAt) entries; parts name them by position. */
  entries: { verdict: AllowlistEntry['verdict']; expiresAt?: string }[];
  registries: string[];
  /** Repositories of the tag map (some may hold no tag). */
  tagRepositories: string[];
  digests: number;
  skipped: string[];
  refusedComplete?: boolean;
  validUntilMs: number;
  generatedAtMs: number;
  parts: number;
}

/** Up to `size` digests: [repository, digest, entry position] and tag / refusal rows. */
export interface IndexPart {
  images: [string, string, number][];
  tags: [string, string, string | null][];
  refused: [string, string, NotAdmittedCode][];
}

/** Splits an index into a header and parts of at most `size` rows each. */
export function splitIndex(
  index: AllowlistIndex,
  size: number,
): { header: IndexHeader; parts: IndexPart[] } {
  const positions = new Map<AllowlistEntry, number>();
  const entries: IndexHeader['entries'] = [];
  const parts: IndexPart[] = [];
  let part: IndexPart = { images: [], tags: [], refused: [] };
  const room = () => {
    if (part.images.length + part.tags.length + part.refused.length < size) return;
    parts.push(part);
    part = { images: [], tags: [], refused: [] };
  };
  for (const [repository, records] of Object.entries(index.allowlist.images)) {
    for (const [digest, entry] of Object.entries(records)) {
      let at = positions.get(entry);
      if (at === undefined) {
        at = entries.length;
        positions.set(entry, at);
        entries.push({
          verdict: entry.verdict,
          ...(entry.expiresAt && { expiresAt: entry.expiresAt }),
        });
      }
      part.images.push([repository, digest, at]);
      room();
    }
  }
  for (const [repository, byTag] of index.tags) {
    for (const [tag, digest] of byTag) {
      part.tags.push([repository, tag, digest]);
      room();
    }
  }
  for (const [repository, codes] of index.refused?.byRepository ?? []) {
    for (const [digest, code] of codes) {
      part.refused.push([repository, digest, code]);
      room();
    }
  }
  if (part.images.length + part.tags.length + part.refused.length > 0) parts.push(part);
  const { images: _images, ...allowlist } = index.allowlist;
  return {
    header: {
      allowlist,
      entries,
      registries: [...index.registries],
      tagRepositories: [...index.tags.keys()],
      digests: index.digests,
      skipped: index.skipped,
      ...(index.refused && { refusedComplete: index.refused.complete }),
      validUntilMs: index.validUntilMs,
      generatedAtMs: index.generatedAtMs,
      parts: parts.length,
    },
    parts,
  };
}

const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];

/** Rebuilds the index part by part; `finish` once every part was added. */
export class IndexAssembler {
  private readonly images: Record<string, Record<string, AllowlistEntry>> = Object.create(null);
  private readonly tags = new Map<string, Map<string, string | null>>();
  private readonly refused = new Map<string, Map<string, NotAdmittedCode>>();
  private readonly entries: AllowlistEntry[];
  private added = 0;

  constructor(private readonly header: IndexHeader) {
    for (const repository of header.tagRepositories) this.tags.set(repository, new Map());
    this.entries = header.entries.map((e) =>
      Object.freeze({
        verdict: e.verdict,
        tags: NO_TAGS,
        ...(e.expiresAt && { expiresAt: e.expiresAt }),
      }),
    );
  }

  add(part: IndexPart): void {
    for (const [repository, digest, at] of part.images) {
      const entry = this.entries[at];
      if (!entry)
        throw new Error(`allowlist index part names entry ${at} of ${this.entries.length}`);
      const records: Record<string, AllowlistEntry> =
        (Object.hasOwn(this.images, repository) ? this.images[repository] : undefined) ??
        Object.create(null);
      this.images[repository] = records;
      records[digest] = entry;
    }
    for (const [repository, tag, digest] of part.tags) {
      this.tags.get(repository)?.set(tag, digest);
    }
    for (const [repository, digest, code] of part.refused) {
      const codes = this.refused.get(repository) ?? new Map<string, NotAdmittedCode>();
      this.refused.set(repository, codes);
      codes.set(digest, code);
    }
    this.added += 1;
  }

  finish(): AllowlistIndex {
    const h = this.header;
    if (this.added !== h.parts) {
      throw new Error(`allowlist index: ${this.added} of ${h.parts} parts arrived`);
    }
    return {
      allowlist: { ...h.allowlist, images: this.images },
      registries: new Set(h.registries),
      tags: this.tags,
      digests: h.digests,
      ...(h.refusedComplete !== undefined && {
        refused: { complete: h.refusedComplete, byRepository: this.refused },
      }),
      skipped: h.skipped,
      validUntilMs: h.validUntilMs,
      generatedAtMs: h.generatedAtMs,
    };
  }
}
