import * as z from 'zod';
import { AllowlistRejectedError } from './errors';
import { isDigest } from './image-ref';

/** The signed document enforcement reads (DESIGN §6). */
export interface AllowlistEntry {
  verdict: 'PASS' | 'WARN';
  tags: string[];
  /** Admission ends here even if no newer allowlist arrives (grace deadline, exception expiry). */
  expiresAt?: string;
}

/**
 * Why a digest the watcher judged is not admitted (FAIL, PENDING, ERROR, deleted, or its
 * admission ran out). Only for the webhook's denial message: nothing ever admits by it.
 */
export const NOT_ADMITTED_CODES = ['FAIL', 'PENDING', 'ERROR', 'DELETED', 'EXPIRED'] as const;
export type NotAdmittedCode = (typeof NOT_ADMITTED_CODES)[number];

export interface NotAdmittedSection {
  complete: boolean;
  images: Record<string, Record<string, NotAdmittedCode>>;
}

export interface Allowlist {
  apiVersion: 'registry-watcher/v1';
  kind: 'ImageAllowlist';
  sequence: number;
  generatedAt: string;
  validUntil: string;
  policyHash: string;
  /** `registry/repository` → digest → entry. */
  images: Record<string, Record<string, AllowlistEntry>>;
  /**
   * Optional (docs/allowlist.md): the newest not-admitted digests, `registry/repository` →
   * digest → why; `complete` when it lists every one the table holds (then a digest in
   * neither map was never judged). Absent: not asked for (consumers before 0.2 reject it).
   */
  notAdmitted?: NotAdmittedSection;
}

const digestKey = z.string().refine(isDigest, { error: 'expected sha256:<64 hex>' });

const entry = z.strictObject({
  verdict: z.enum(['PASS', 'WARN']),
  tags: z.array(z.string()),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const allowlistSchema = z.strictObject({
  apiVersion: z.literal('registry-watcher/v1'),
  kind: z.literal('ImageAllowlist'),
  sequence: z.number().int().nonnegative(),
  generatedAt: z.iso.datetime({ offset: true }),
  validUntil: z.iso.datetime({ offset: true }),
  policyHash: z.string().min(1),
  images: z.record(z.string().min(1), z.record(digestKey, entry)),
  notAdmitted: z
    .strictObject({
      complete: z.boolean(),
      images: z.record(z.string().min(1), z.record(digestKey, z.enum(NOT_ADMITTED_CODES))),
    })
    .optional(),
});

/** One admitted digest, as the `admitted` index returns it. */
export interface AdmittedImage {
  registry: string;
  repository: string;
  digest: string;
  verdict: 'PASS' | 'WARN';
  tags: string[];
  expiresAt?: string;
}

/** One judged digest that is not admitted, and why. */
export interface RefusedImage {
  registry: string;
  repository: string;
  digest: string;
  code: NotAdmittedCode;
}

export interface BuildAllowlistOptions {
  sequence: number;
  now: Date;
  validityMs: number;
  policyHash: string;
  /** Given (even empty): the document carries the `notAdmitted` section. */
  notAdmitted?: { images: Iterable<RefusedImage>; complete: boolean };
}

const byKey = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);

/** `registry/repository` → sorted digest → value, repositories sorted: equal input, equal bytes. */
function sortedByRepository<T>(byRepository: Map<string, [string, T][]>) {
  return Object.fromEntries(
    [...byRepository.entries()]
      .sort(byKey)
      .map(([repo, list]) => [repo, Object.fromEntries(list.sort(byKey))]),
  );
}

/** Builds the document with repositories and digests in sorted order, so equal input gives equal bytes. */
export function buildAllowlist(
  images: Iterable<AdmittedImage>,
  options: BuildAllowlistOptions,
): Allowlist {
  const byRepository = new Map<string, [string, AllowlistEntry][]>();
  for (const image of images) {
    const repository = `${image.registry}/${image.repository}`;
    const list = byRepository.get(repository) ?? [];
    list.push([
      image.digest,
      {
        verdict: image.verdict,
        tags: [...image.tags].sort(),
        ...(image.expiresAt && { expiresAt: image.expiresAt }),
      },
    ]);
    byRepository.set(repository, list);
  }
  const document: Allowlist = {
    apiVersion: 'registry-watcher/v1',
    kind: 'ImageAllowlist',
    sequence: options.sequence,
    generatedAt: options.now.toISOString(),
    validUntil: new Date(options.now.getTime() + options.validityMs).toISOString(),
    policyHash: options.policyHash,
    images: sortedByRepository(byRepository),
  };
  if (options.notAdmitted) {
    const refused = new Map<string, [string, NotAdmittedCode][]>();
    const admitted = new Set(
      [...byRepository].flatMap(([repo, list]) => list.map(([digest]) => `${repo}@${digest}`)),
    );
    for (const image of options.notAdmitted.images) {
      const repository = `${image.registry}/${image.repository}`;
      // The two indexes are read apart: an admitted entry wins over a stale refusal.
      if (admitted.has(`${repository}@${image.digest}`)) continue;
      const list = refused.get(repository) ?? [];
      list.push([image.digest, image.code]);
      refused.set(repository, list);
    }
    document.notAdmitted = {
      complete: options.notAdmitted.complete,
      images: sortedByRepository(refused),
    };
  }
  return document;
}

/** The exact bytes that are signed and published. */
export function serialiseAllowlist(allowlist: Allowlist): Buffer {
  return Buffer.from(JSON.stringify(allowlist), 'utf8');
}

export function parseAllowlist(bytes: Buffer | string): Allowlist {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch (error) {
    throw new AllowlistRejectedError(
      'MALFORMED',
      `the allowlist is not JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const parsed = allowlistSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AllowlistRejectedError(
      'MALFORMED',
      `the allowlist is not an ImageAllowlist: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data as Allowlist;
}

/** Rollback and freshness checks every consumer applies after the signature check. */
export function checkAllowlist(
  allowlist: Allowlist,
  options: { now: Date; minSequence?: number },
): void {
  if (options.minSequence !== undefined && allowlist.sequence < options.minSequence) {
    throw new AllowlistRejectedError(
      'ROLLED_BACK',
      `rolled back: sequence ${allowlist.sequence} is lower than ${options.minSequence}, which was already seen`,
    );
  }
  if (Date.parse(allowlist.validUntil) <= options.now.getTime()) {
    throw new AllowlistRejectedError(
      'EXPIRED',
      `expired: validUntil ${allowlist.validUntil} is in the past (now ${options.now.toISOString()})`,
    );
  }
}

/** Is this digest admitted for this repository right now? */
export function isAllowed(
  allowlist: Allowlist,
  repository: string,
  digest: string,
  now: Date,
): AllowlistEntry | undefined {
  const entry = ownEntry(allowlist, repository, digest);
  if (!entry) return undefined;
  if (entry.expiresAt && Date.parse(entry.expiresAt) <= now.getTime()) return undefined;
  return entry;
}

/** The entry the document lists, by own keys only: references come from untrusted pods. */
export function ownEntry(
  allowlist: Allowlist,
  repository: string,
  digest: string,
): AllowlistEntry | undefined {
  const records = Object.hasOwn(allowlist.images, repository)
    ? allowlist.images[repository]
    : undefined;
  return records && Object.hasOwn(records, digest) ? records[digest] : undefined;
}
