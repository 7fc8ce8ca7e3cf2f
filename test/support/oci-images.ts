import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RegistryClient } from '../../shared/adapters/oci/client';
import { type Descriptor, manifestBytes } from '../../shared/adapters/oci/manifest';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from '../../shared/adapters/oci/media-types';

/** A ustar archive of regular files (enough for a real image layer). */
export function tar(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136);
    header.write('        ', 148); // checksum counted as spaces
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    const sum = header.reduce((total, byte) => total + byte, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface BuiltImage {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
}

export type ImageFormat = 'oci' | 'docker';

/** Builds and pushes a one-layer image: gzip tar layer, image config, manifest. */
export async function pushImage(
  client: RegistryClient,
  repository: string,
  options: {
    format?: ImageFormat;
    tag?: string;
    platform?: { os: string; architecture: string };
    content?: string;
  } = {},
): Promise<BuiltImage> {
  const { format = 'oci', platform = { os: 'linux', architecture: 'amd64' } } = options;
  const layerTar = tar({
    'hello.txt': options.content ?? `hello from ${repository} ${platform.architecture}\n`,
  });
  const layer = await client.pushBlob(
    repository,
    gzipSync(layerTar),
    format === 'oci' ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP,
  );
  const imageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    created: '2026-11-20T09:00:00Z',
    config: { Cmd: ['/bin/true'] },
    rootfs: {
      type: 'layers',
      diff_ids: [`sha256:${createHash('sha256').update(layerTar).digest('hex')}`],
    },
  };
  const config = await client.pushBlob(
    repository,
    Buffer.from(JSON.stringify(imageConfig)),
    format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG,
  );
  const mediaType = format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
  const bytes = manifestBytes({ schemaVersion: 2, mediaType, config, layers: [layer] });
  const pushed = await client.putManifest(repository, options.tag ?? digestOf(bytes), bytes);
  return { digest: pushed.digest, mediaType, size: bytes.length, bytes };
}

/** Builds and pushes a two-platform index (linux/amd64 + linux/arm64). */
export async function pushIndex(
  client: RegistryClient,
  repository: string,
  options: { format?: ImageFormat; tag?: string } = {},
): Promise<BuiltImage & { platforms: BuiltImage[] }> {
  const { format = 'oci' } = options;
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const images = [];
  for (const platform of platforms)
    images.push(await pushImage(client, repository, { format, platform }));
  const manifests: Descriptor[] = images.map((image, i) => ({
    mediaType: image.mediaType,
    digest: image.digest,
    size: image.size,
    platform: platforms[i] as { os: string; architecture: string },
  }));
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_MANIFEST_LIST;
  const bytes = manifestBytes({ schemaVersion: 2, mediaType, manifests });
  const pushed = await client.putManifest(repository, options.tag ?? digestOf(bytes), bytes);
  return { digest: pushed.digest, mediaType, size: bytes.length, bytes, platforms: images };
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
