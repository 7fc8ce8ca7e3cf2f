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

export interface Allowlist {
  apiVersion: 'registry-watcher/v1';
  kind: 'ImageAllowlist';
  sequence: number;
  generatedAt: string;
  validUntil: string;
  policyHash: string;
  /** `registry/repository` → digest → entry. */
  images: Record<string, Record<string, AllowlistEntry>>;
}

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
  images: z.record(
    z.string().min(1),
    z.record(z.string().refine(isDigest, { error: 'expected sha256:<64 hex>' }), entry),
  ),
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

export interface BuildAllowlistOptions {
  sequence: number;
  now: Date;
  validityMs: number;
  policyHash: string;
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
  const sorted = [...byRepository.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    apiVersion: 'registry-watcher/v1',
    kind: 'ImageAllowlist',
    sequence: options.sequence,
    generatedAt: options.now.toISOString(),
    validUntil: new Date(options.now.getTime() + options.validityMs).toISOString(),
    policyHash: options.policyHash,
    images: Object.fromEntries(
      sorted.map(([repo, list]) => [
        repo,
        Object.fromEntries(list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      ]),
    ),
  };
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
