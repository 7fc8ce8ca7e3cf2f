/**
 * The policy, as ordered lists of rules. Order is behaviour: it decides which rule names a
 * reason, which settles a finding first, and the order reasons are listed in.
 */
import { blocked } from './blocked';
import { exceptions } from './exceptions';
import { exploitability } from './exploitability';
import type { FindingRule, ImageRule, ManifestRule } from './facts';
import { findingsRule } from './findings';
import { grace } from './grace';
import { onlyFixable } from './only-fixable';
import { scanAge } from './scan-age';
import { noPlatforms, scanState } from './scan-state';
import { severity } from './severity';
import { signatures } from './signatures';

/** Per finding: what blocks it (exploitability first), then what clears or defers it. */
export const FINDING_RULES: readonly FindingRule[] = [
  exploitability,
  severity,
  onlyFixable,
  exceptions,
  grace,
  blocked,
];

/** Per manifest (each platform of an image index): the scan, its age, its findings. */
export const MANIFEST_RULES: readonly ManifestRule[] = [
  scanState,
  scanAge,
  findingsRule(FINDING_RULES),
];

/** Per image, after its manifests. */
export const IMAGE_RULES: readonly ImageRule[] = [noPlatforms, signatures];
