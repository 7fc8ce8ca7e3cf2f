import type { ScanFindings } from '../../domain/findings';
import type { ImageFacts } from '../../domain/image-facts';
import { type ImageKey, imageId } from '../../domain/image-ref';
import type { FindingsSource, ImageSource } from '../../ports';
import { ECR_BASIC, ECR_SCANNERS } from '../aws/ecr-findings';

/**
 * An image registry held in memory: the ImageSource and FindingsSource of `npm start`
 * and of tests that need a world whose facts they can change between evaluations.
 */
export class MemoryRegistry implements ImageSource, FindingsSource {
  private readonly images = new Map<string, ImageFacts>();
  private readonly scans = new Map<string, ScanFindings>();
  /** Calls made, by operation: lets tests check coalescing. */
  readonly calls = { describeImage: 0, getFindings: 0 };
  /** Its scans are ECR's (the events/ fixtures, read as the ECR adapter reads them). */
  readonly scanners = ECR_SCANNERS;

  put(facts: ImageFacts, scan?: ScanFindings): this {
    this.images.set(imageId(facts.key), facts);
    if (scan) this.scans.set(imageId(facts.key), scan);
    return this;
  }

  /** Findings of a manifest that is not listed on its own (an index's platform manifest). */
  putScan(key: ImageKey, scan: ScanFindings): this {
    this.scans.set(imageId(key), scan);
    return this;
  }

  delete(key: ImageKey): this {
    this.images.delete(imageId(key));
    return this;
  }

  async describeImage(key: ImageKey): Promise<ImageFacts | undefined> {
    this.calls.describeImage += 1;
    const facts = this.images.get(imageId(key));
    return facts && structuredClone(facts);
  }

  async *listImages(registry: string, repository: string): AsyncIterable<ImageFacts[]> {
    yield [...this.images.values()].filter(
      (f) => f.key.registry === registry && f.key.repository === repository,
    );
  }

  async getFindings(key: ImageKey): Promise<ScanFindings> {
    this.calls.getFindings += 1;
    const scan = this.scans.get(imageId(key));
    return scan
      ? structuredClone(scan)
      : { state: 'unscanned', status: 'SCAN_NOT_FOUND', scanner: ECR_BASIC, findings: [] };
  }
}
