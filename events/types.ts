/**
 * Shapes of the sample events in this folder, as AWS documents them (see README.md).
 * They describe the fixtures, not what a parser may assume: every field a
 * producer can drop is optional, and enum-like strings stay open (`| string`)
 * where AWS documents no closed list.
 */

/** Maps every `Date` in an AWS SDK output type to epoch seconds, as the JSON 1.1 wire carries it. */
export type Wire<T> = T extends Date
  ? number
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** Severity names used as keys in ECR and Inspector severity counts. */
type SeverityCounts<K extends string> = Partial<Record<K, number>>;

/** `detail` of "ECR Image Action" (source aws.ecr). */
export interface EcrImageActionDetail {
  'action-type': 'PUSH' | 'DELETE';
  result: 'SUCCESS' | 'FAILURE';
  'repository-name': string;
  'image-digest': string;
  /** Absent when the manifest was pushed or deleted by digest only. */
  'image-tag'?: string;
}

/** `detail` of "ECR Image Scan" (basic scanning). Only non-zero severities appear in the counts. */
export interface EcrImageScanDetail {
  'scan-status': 'COMPLETE' | 'FAILED' | (string & {});
  'repository-name': string;
  'image-digest': string;
  'image-tags': string[];
  'finding-severity-counts'?: SeverityCounts<
    'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNDEFINED'
  >;
}

/** `detail` of "Inspector2 Scan" for an ECR image. `repository-name` is the repository ARN. */
export interface Inspector2ScanDetail {
  'scan-status': 'INITIAL_SCAN_COMPLETE' | (string & {});
  'repository-name': string;
  'image-digest': string;
  'image-tags': string[];
  /** Only CRITICAL, HIGH, MEDIUM are broken out; TOTAL also counts LOW, INFORMATIONAL, UNTRIAGED. */
  'finding-severity-counts': SeverityCounts<'CRITICAL' | 'HIGH' | 'MEDIUM' | 'TOTAL'>;
  version?: string;
}

/** Inspector's EventBridge timestamps are strings such as "Wed Sep 04 16:55:38.411 UTC 2024", not ISO 8601. */
type InspectorTime = string;

export interface Inspector2VulnerablePackage {
  name: string;
  version: string;
  epoch?: number;
  release?: string;
  arch?: string;
  packageManager: string;
  filePath?: string;
  /** "NotAvailable" when there is no fix; OS packages carry "epoch:version-release". */
  fixedInVersion?: string;
  remediation?: string;
  sourceLayerHash?: string;
}

export interface Inspector2Cvss {
  baseScore: number;
  scoringVector: string;
  source: string;
  version: string;
}

export interface Inspector2EcrImage {
  architecture?: string;
  imageHash: string;
  imageTags?: string[];
  platform?: string;
  pushedAt?: InspectorTime;
  lastInUseAt?: InspectorTime;
  inUseCount?: number;
  registry: string;
  repositoryName: string;
  author?: string;
}

/** `detail` of "Inspector2 Finding" for an ECR container image (one finding per event). */
export interface Inspector2FindingDetail {
  awsAccountId: string;
  findingArn: string;
  description: string;
  title: string;
  type: 'PACKAGE_VULNERABILITY' | 'CODE_VULNERABILITY' | 'NETWORK_REACHABILITY';
  severity: 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'UNTRIAGED';
  status: 'ACTIVE' | 'SUPPRESSED' | 'CLOSED';
  firstObservedAt: InspectorTime;
  lastObservedAt: InspectorTime;
  updatedAt: InspectorTime;
  fixAvailable?: 'YES' | 'NO' | 'PARTIAL';
  exploitAvailable?: 'YES' | 'NO';
  exploitabilityDetails?: { lastKnownExploitAt?: InspectorTime };
  epss?: { score: number };
  inspectorScore?: number;
  inspectorScoreDetails?: {
    adjustedCvss?: {
      adjustments?: { metric: string; reason: string }[];
      cvssSource?: string;
      score: number;
      scoreSource: string;
      scoringVector: string;
      version: string;
    };
  };
  packageVulnerabilityDetails?: {
    vulnerabilityId: string;
    source: string;
    sourceUrl?: string;
    vendorSeverity?: string;
    vendorCreatedAt?: InspectorTime;
    vendorUpdatedAt?: InspectorTime;
    cvss?: Inspector2Cvss[];
    referenceUrls?: string[];
    relatedVulnerabilities?: string[];
    vulnerablePackages: Inspector2VulnerablePackage[];
  };
  remediation?: { recommendation?: { text?: string; Url?: string } };
  resources: {
    id: string;
    type: string;
    partition?: string;
    region?: string;
    provider?: string;
    providerAccountId?: string;
    tags?: Record<string, string>;
    details?: {
      awsEcrContainerImage?: Inspector2EcrImage;
      /** Provider-agnostic copy of awsEcrContainerImage (imageDigest instead of imageHash). */
      image?: Omit<Inspector2EcrImage, 'imageHash'> & { imageDigest: string };
    };
  }[];
}
