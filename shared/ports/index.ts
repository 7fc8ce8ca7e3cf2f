import type { ScanFindings, ScannerTraits } from '../domain/findings';
import type { FactsRef, FindingsFacts } from '../domain/findings-facts';
import type { ImageFacts } from '../domain/image-facts';
import type { ImageKey } from '../domain/image-ref';
import type { KnownExploited } from '../domain/known-exploited';
import type { SignatureTrust } from '../domain/policy';
import type { SignatureResult } from '../domain/verdict';
import type { AttestationMark, VerdictRecord, WritePlan } from '../domain/verdict-record';

/** Describes images in a registry (ECR DescribeImages + BatchGetImage in AWS). */
export interface ImageSource {
  /** undefined when the image no longer exists. */
  describeImage(key: ImageKey): Promise<ImageFacts | undefined>;
  /** Every image of a repository, one page at a time. */
  listImages(registry: string, repository: string): AsyncIterable<ImageFacts[]>;
}

/** Reads the findings of one image manifest (ECR DescribeImageScanFindings in AWS). */
export interface FindingsSource {
  getFindings(key: ImageKey): Promise<ScanFindings>;
  /** What evaluation may assume of the scanners it names (absent: `UNKNOWN_SCANNERS`). */
  readonly scanners?: ScannerTraits;
}

/**
 * The findings each verdict was judged on, one entry per manifest and scan (DESIGN §5,
 * Facts; DynamoDB beside the verdict in AWS and under `npm start`). Written before the
 * verdict that names them.
 */
export interface FindingsFactsStore {
  /** Stores one manifest's facts of one scan; the same scan stored again is harmless. */
  put(facts: FindingsFacts): Promise<FactsRef>;
  /** The facts of that manifest (`key.digest`) and scan; undefined when none are stored. */
  get(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined>;
  /** Many manifests' facts at once (as `get` each), in the order asked. */
  getMany?(
    wanted: { key: ImageKey; ref: Pick<FactsRef, 'scanner' | 'completedAt'> }[],
  ): Promise<(FindingsFacts | undefined)[]>;
  /** Every stored facts entry (older scans of a digest included), page by page. */
  pages(): AsyncIterable<FindingsFacts[]>;
}

/** Verifies an image's signatures against the policy's trust. */
export interface SignatureVerifier {
  verify(image: ImageFacts, trust: SignatureTrust): Promise<SignatureResult>;
}

/**
 * Signs with an ECDSA P-256 key (KMS in AWS, a local key file for `npm start` and tests),
 * the shape of sigstore-js's Signer port.
 */
export interface Signer {
  /** ECDSA over SHA-256 of `data`; DER-encoded signature. */
  sign(data: Buffer): Promise<Buffer>;
  /** The verifying key, SPKI PEM. */
  publicKeyPem(): Promise<string>;
}

/** The verdict table (DynamoDB in AWS). */
export interface VerdictStore {
  get(key: ImageKey): Promise<VerdictRecord | undefined>;
  /** The records of many images at once (as `get` each), by imageId; absent ones left out. */
  getMany?(keys: ImageKey[]): Promise<Map<string, VerdictRecord>>;
  /** Applies a write plan; throws StoreConflictError when the version moved meanwhile. */
  write(plan: WritePlan): Promise<void>;
}

/**
 * Every CURRENT verdict, page by page, in no particular order (a parallel table Scan in
 * AWS): what the nightly planner walks and the daily digest counts.
 */
export interface VerdictCatalog {
  pages(): AsyncIterable<VerdictRecord[]>;
}

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** The subset of a logger the core uses (Powertools Logger fits). */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** A version of the known-exploited catalog and the tag that identifies it (ETag, mtime). */
export interface KnownExploitedVersion {
  catalog: KnownExploited;
  tag: string;
}

/** Where the known-exploited catalog (CISA KEV JSON) is kept: a file, an S3 object. */
export interface KnownExploitedCatalog {
  /** The catalog; 'unchanged' when it still carries `tag` (cheap conditional read). */
  load(tag?: string): Promise<KnownExploitedVersion | 'unchanged'>;
}

/**
 * Has a stored verdict attested: signs it and attaches it to the image (the attestor's
 * RegistryVerdictAttestor), or hands it to the attestor function (evaluate's queue). Returns
 * what the record keeps.
 */
export interface VerdictAttestor {
  attest(record: VerdictRecord, now: Date): Promise<AttestationMark>;
}
