import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { InvalidFindingsError } from '../../domain/errors';
import type { Scanner } from '../../domain/findings';
import {
  decodeFindings,
  encodeFindings,
  FACTS_ENCODING,
  type FactsRef,
  type FindingsFacts,
  findingsHash,
} from '../../domain/findings-facts';
import { type ImageKey, imageId } from '../../domain/image-ref';
import type { FindingsFactsStore } from '../../ports';
import { type RetryOptions, withRetry } from '../../retry';
import { batchGetItems } from './batch-get';
import { documentClient } from './dynamodb-verdict-store';
import { fleetShard, imagePartitionKey, VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbFindingsFactsOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  retry?: RetryOptions;
  /** Compressed bytes per item; beyond it the facts continue in part items (DynamoDB: 400 KB an item). */
  partBytes?: number;
}

/** Room for the other attributes under DynamoDB's 400 KB item limit. */
export const FACTS_PART_BYTES = 380_000;
export const FACTS_SORT_PREFIX = 'F#';

/** `F#<completedAt>#<scanner>`: a manifest's facts sort by scan time. */
export function factsSortKey(ref: { completedAt: string; scanner: Scanner }): string {
  return `${FACTS_SORT_PREFIX}${ref.completedAt}#${ref.scanner}`;
}

/** The scan a facts head's sort key names (factsSortKey), or undefined for another key. */
export function scanOfSortKey(sk: string): { completedAt: string; scanner: Scanner } | undefined {
  if (!sk.startsWith(FACTS_SORT_PREFIX)) return undefined;
  const at = sk.lastIndexOf('#');
  if (at <= FACTS_SORT_PREFIX.length) return undefined;
  return {
    completedAt: sk.slice(FACTS_SORT_PREFIX.length, at),
    scanner: sk.slice(at + 1) as Scanner,
  };
}

interface FactsItem {
  pk: string;
  sk: string;
  registry: string;
  repository: string;
  digest: string;
  scanner: Scanner;
  completedAt: string;
  status: string;
  description?: string;
  vulnerabilitySourceUpdatedAt?: string;
  enc: string;
  hash: string;
  count: number;
  parts: number;
  /** Brotli-compressed encodeFindings text (this item's share of it). */
  f: Uint8Array;
  /** The fleet index's shard: the questions read facts heads there, beside the verdicts. */
  fleet: number;
}

export function compressFindings(encoded: string): Buffer {
  return brotliCompressSync(Buffer.from(encoded, 'utf8'), {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 9,
      [constants.BROTLI_PARAM_SIZE_HINT]: encoded.length,
    },
  });
}

/** The items one manifest's facts are stored as: the head first, then its parts. */
export function factsItems(
  facts: FindingsFacts,
  partBytes = FACTS_PART_BYTES,
): { ref: FactsRef; items: Record<string, unknown>[] } {
  const encoded = encodeFindings(facts.findings);
  const ref: FactsRef = {
    digest: facts.key.digest,
    scanner: facts.scanner,
    completedAt: facts.completedAt,
    hash: findingsHash(encoded),
    count: facts.findings.length,
  };
  const bytes = compressFindings(encoded);
  const chunks: Buffer[] = [];
  for (let i = 0; i < Math.max(1, bytes.length); i += partBytes) {
    chunks.push(bytes.subarray(i, i + partBytes));
  }
  const pk = imagePartitionKey(facts.key);
  const sk = factsSortKey(ref);
  const head: FactsItem = {
    pk,
    sk,
    registry: facts.key.registry,
    repository: facts.key.repository,
    digest: facts.key.digest,
    scanner: facts.scanner,
    completedAt: facts.completedAt,
    status: facts.status,
    ...(facts.description && { description: facts.description }),
    ...(facts.vulnerabilitySourceUpdatedAt && {
      vulnerabilitySourceUpdatedAt: facts.vulnerabilitySourceUpdatedAt,
    }),
    enc: FACTS_ENCODING,
    hash: ref.hash,
    count: ref.count,
    parts: chunks.length,
    f: chunks[0] ?? Buffer.alloc(0),
    fleet: fleetShard(pk),
  };
  const parts = chunks.slice(1).map((f, n) => ({ pk, sk: `${sk}#p${n + 1}`, f }));
  return { ref, items: [{ ...head }, ...parts] };
}

/**
 * Findings facts in the verdict table, beside the CURRENT item: `pk` of the judged manifest
 * (an index's platforms have their own), `sk = F#<completedAt>#<scanner>`, findings
 * encoded (domain) and brotli-compressed in one binary attribute. Facts above `partBytes`
 * continue in `…#p<n>` items of the same partition.
 */
export class DynamoDbFindingsFacts implements FindingsFactsStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly partBytes: number;

  constructor(private readonly options: DynamoDbFindingsFactsOptions) {
    this.client = options.client ?? documentClient();
    this.partBytes = options.partBytes ?? FACTS_PART_BYTES;
  }

  /** Same scan, same content: the same items, so a retried put is harmless. */
  async put(facts: FindingsFacts): Promise<FactsRef> {
    const { ref, items } = factsItems(facts, this.partBytes);
    // Parts first, the head last: a head is only ever read with all its parts stored.
    for (const item of [...items.slice(1), items[0]]) if (item) await this.putItem(item);
    return ref;
  }

  async get(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined> {
    const pk = imagePartitionKey(key);
    const item = await this.getItem(pk, factsSortKey(ref));
    return item ? this.fromItem(item) : undefined;
  }

  /** The heads in BatchGetItems of 100; parts (facts past 380,000 B) are read one by one. */
  async getMany(
    wanted: { key: ImageKey; ref: Pick<FactsRef, 'scanner' | 'completedAt'> }[],
  ): Promise<(FindingsFacts | undefined)[]> {
    const keys = wanted.map(({ key, ref }) => ({
      pk: imagePartitionKey(key),
      sk: factsSortKey(ref),
    }));
    const items = await batchGetItems(this.client, this.options.tableName, keys, {
      ...(this.options.retry && { retry: this.options.retry }),
    });
    const byKey = new Map(items.map((item) => [`${item.pk}\u0000${item.sk}`, item]));
    return Promise.all(
      keys.map(async ({ pk, sk }) => {
        const item = byKey.get(`${pk}\u0000${sk}`);
        return item ? this.fromItem(item) : undefined;
      }),
    );
  }

  /** Every stored facts head (all scans kept), page by page, parts joined. */
  async *pages(): AsyncIterable<FindingsFacts[]> {
    const pages = paginateScan(
      { client: this.client },
      {
        TableName: this.options.tableName,
        FilterExpression: 'begins_with(#sk, :facts) AND attribute_exists(#enc)',
        ExpressionAttributeNames: { '#sk': T.sortKey, '#enc': 'enc' },
        ExpressionAttributeValues: { ':facts': FACTS_SORT_PREFIX },
      },
    );
    for await (const page of pages) {
      yield await Promise.all((page.Items ?? []).map((item) => this.fromItem(item)));
    }
  }

  /**
   * A stored facts head as the facts it holds: parts read, hash checked, findings decoded
   * (none when `keep` refuses their encoded text).
   */
  async fromItem(
    stored: Record<string, unknown>,
    keep?: (encoded: string) => boolean,
  ): Promise<FindingsFacts> {
    const item = stored as unknown as FactsItem;
    const key = { registry: item.registry, repository: item.repository, digest: item.digest };
    const source = `facts ${imageId(key)} ${item.sk}`;
    if (item.enc !== FACTS_ENCODING) {
      throw new InvalidFindingsError(`${source}: unknown encoding "${item.enc}"`);
    }
    const chunks: Uint8Array[] = [item.f];
    for (let n = 1; n < item.parts; n++) {
      const part = (await this.getItem(item.pk, `${item.sk}#p${n}`))?.f as Uint8Array | undefined;
      if (!part) throw new InvalidFindingsError(`${source}: part ${n} of ${item.parts} is missing`);
      chunks.push(part);
    }
    const encoded = brotliDecompressSync(Buffer.concat(chunks)).toString('utf8');
    if (findingsHash(encoded) !== item.hash) {
      throw new InvalidFindingsError(`${source}: content does not match its hash ${item.hash}`);
    }
    return {
      key,
      scanner: item.scanner,
      completedAt: item.completedAt,
      status: item.status,
      ...(item.description && { description: item.description }),
      ...(item.vulnerabilitySourceUpdatedAt && {
        vulnerabilitySourceUpdatedAt: item.vulnerabilitySourceUpdatedAt,
      }),
      findings: !keep || keep(encoded) ? decodeFindings(encoded, source) : [],
    };
  }

  private async putItem(item: object): Promise<void> {
    const { tableName } = this.options;
    await withRetry(
      () => this.client.send(new PutCommand({ TableName: tableName, Item: { ...item } })),
      this.options.retry,
    );
  }

  private async getItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { tableName } = this.options;
    const out = await withRetry(
      () => this.client.send(new GetCommand({ TableName: tableName, Key: { pk, sk } })),
      this.options.retry,
    );
    return out.Item;
  }
}
