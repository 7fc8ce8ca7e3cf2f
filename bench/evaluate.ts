/**
 * Evaluation of one image with 1,000 findings, side by side with JSON.parse of the same
 * DescribeImageScanFindings response (the floor: any evaluation must at least read it).
 */
import { loadFixture } from '../events';
import { normaliseScanFindings } from '../shared/adapters/aws/ecr-findings';
import { evaluate } from '../shared/domain/evaluate';
import { loadPolicyFile } from '../shared/policy-file';
import { fmt, medianMs } from './support/measure';

const FINDINGS = 1000;
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNTRIAGED'];

function responseWith(count: number): string {
  const response = loadFixture('ecr/describe-image-scan-findings-enhanced');
  const templates = response.imageScanFindings?.enhancedFindings ?? [];
  const findings = Array.from({ length: count }, (_, i) => {
    const template = structuredClone(templates[i % templates.length]);
    if (template?.packageVulnerabilityDetails) {
      template.packageVulnerabilityDetails.vulnerabilityId = `CVE-2026-${String(10000 + i)}`;
    }
    if (template) template.severity = SEVERITIES[i % SEVERITIES.length];
    return template;
  });
  return JSON.stringify({
    ...response,
    imageScanFindings: { ...response.imageScanFindings, enhancedFindings: findings },
  });
}

export async function run(): Promise<void> {
  const text = responseWith(FINDINGS);
  const policy = loadPolicyFile('infra/policy.yaml');
  const image = {
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    repository: 'prod/api',
    digest: `sha256:${'1'.repeat(64)}`,
  };
  const now = new Date('2026-11-23T00:00:00Z');
  const parsed = JSON.parse(text);
  const scan = normaliseScanFindings(parsed);
  if (scan.findings.length !== FINDINGS)
    throw new Error(`expected ${FINDINGS} findings, got ${scan.findings.length}`);

  const floor = await medianMs(() => JSON.parse(text), 51, 10);
  const evaluation = await medianMs(() => evaluate({ image, scan, policy, now }), 51, 10);
  const normalise = await medianMs(() => normaliseScanFindings(JSON.parse(text)), 51, 10);
  const pipeline = await medianMs(
    () => evaluate({ image, scan: normaliseScanFindings(JSON.parse(text)), policy, now }),
    51,
    10,
  );

  console.log(`response: ${FINDINGS} findings, ${(text.length / 1024).toFixed(0)} KiB`);
  console.log(`JSON.parse (floor)                 ${fmt(floor, 3)} ms`);
  console.log(
    `evaluate (policy decision)         ${fmt(evaluation, 3)} ms  ${fmt(FINDINGS / (evaluation / 1000), 0)} findings/s`,
  );
  console.log(
    `parse + validate + normalise       ${fmt(normalise, 3)} ms  (${fmt(normalise / floor)}x floor)`,
  );
  console.log(
    `whole: parse, normalise, evaluate  ${fmt(pipeline, 3)} ms  (${fmt(pipeline / floor)}x floor)`,
  );
  console.log(`ratio evaluate/JSON.parse ${fmt(evaluation / floor)} (target <= 0.5)`);
}
