import { createHash } from 'node:crypto';
import * as z from 'zod';
import { isIndexType, OCI_EMPTY, OCI_EMPTY_BLOB } from './media-types';

const digest = z.string().regex(/^sha(256|512):[a-f0-9]+$/, 'expected an algorithm:hex digest');
const annotations = z.record(z.string(), z.string());

export const descriptorSchema = z
  .object({
    mediaType: z.string(),
    digest,
    size: z.number().int().nonnegative(),
    artifactType: z.string().optional(),
    annotations: annotations.optional(),
    platform: z
      .object({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
      .loose()
      .optional(),
  })
  .loose();
export type Descriptor = z.infer<typeof descriptorSchema>;

/** OCI image manifest or Docker v2 manifest (same shape). */
export const imageManifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().optional(),
    config: descriptorSchema,
    layers: z.array(descriptorSchema),
    subject: descriptorSchema.optional(),
    annotations: annotations.optional(),
  })
  .loose();
export type ImageManifest = z.infer<typeof imageManifestSchema>;

/** OCI image index or Docker manifest list. */
export const imageIndexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().optional(),
    manifests: z.array(descriptorSchema),
    subject: descriptorSchema.optional(),
    annotations: annotations.optional(),
  })
  .loose();
export type ImageIndex = z.infer<typeof imageIndexSchema>;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function descriptorOf(
  mediaType: string,
  bytes: Uint8Array,
  extra: Omit<Partial<Descriptor>, 'mediaType' | 'digest' | 'size'> = {},
): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, ...extra };
}

/** The OCI 1.1 empty config descriptor (`{}`), for artifacts that carry no config. */
export const EMPTY_CONFIG: Descriptor = descriptorOf(OCI_EMPTY, OCI_EMPTY_BLOB);

/** A manifest's media type as the manifest itself declares it (required by us on push). */
export function declaredMediaType(json: unknown): string | undefined {
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  return typeof mediaType === 'string' ? mediaType : undefined;
}

export function parseIndex(json: unknown): ImageIndex | undefined {
  const parsed = imageIndexSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export function parseImageManifest(json: unknown): ImageManifest | undefined {
  if (isIndexType(declaredMediaType(json))) return undefined;
  const parsed = imageManifestSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** Stable JSON bytes for manifests we write: what we hash is what we push. */
export function manifestBytes(manifest: object): Buffer {
  return Buffer.from(JSON.stringify(manifest));
}

/** `sha256:<hex>` → `sha256-<hex>`: the tag cosign and the referrers tag schema use. */
export function digestTag(digestValue: string, suffix = ''): string {
  return `${digestValue.replace(':', '-')}${suffix}`;
}
