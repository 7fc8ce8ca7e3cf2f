import { loadFixture } from '../../events';
import {
  mergeScanFindingPages,
  normaliseScanFindings,
  scanStateOf,
} from '../../shared/adapters/aws/ecr-findings';
import { parseInspectorFinding } from '../../shared/adapters/aws/inspector-findings';
import { InvalidFindingsError } from '../../shared/domain/errors';

describe('basic scanning findings', () => {
  const scan = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-basic'));

  it('reads status, times and scanner', () => {
    expect(scan).toMatchObject({ state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' });
    expect(scan.completedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(scan.findings).toHaveLength(6);
  });

  it('prefers CVSS v3 over v2 and keeps package and link', () => {
    expect(scan.findings.find((f) => f.id === 'CVE-2022-0563')).toEqual({
      id: 'CVE-2022-0563',
      severity: 'MEDIUM',
      title: expect.any(String),
      cvss: { score: 5.5, version: '3', vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N' },
      package: { name: 'util-linux', version: '2.38.1-5' },
      link: expect.stringContaining('CVE-2022-0563'),
    });
    expect(scan.findings.find((f) => f.id === 'CVE-2011-3374')?.cvss).toEqual({
      score: 4.3,
      version: '2',
      vector: 'AV:N/AC:M/Au:N/C:N/I:P/A:N',
    });
  });

  it('leaves fix availability unknown, as basic scanning does not say', () => {
    expect(scan.findings.every((f) => f.fixAvailable === undefined)).toBe(true);
  });
});

describe('enhanced scanning findings', () => {
  const scan = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced'));

  it('reads ACTIVE as a complete continuous scan by Inspector', () => {
    expect(scan).toMatchObject({ state: 'complete', status: 'ACTIVE', scanner: 'inspector' });
    expect(scan.findings).toHaveLength(5);
  });

  it('maps fix, exploit, scores and package details', () => {
    const critical = scan.findings.find((f) => f.id === 'CVE-2024-37371');
    expect(critical).toMatchObject({
      severity: 'CRITICAL',
      fixAvailable: true,
      exploitAvailable: false,
      inspectorScore: 9.1,
      cvss: { score: 9.1 },
      package: { name: expect.any(String), ecosystem: 'OS' },
    });
    const unfixed = scan.findings.find((f) => f.id === 'CVE-2023-50495');
    expect(unfixed?.fixAvailable).toBe(false);
    expect(unfixed?.fixedIn).toBeUndefined();
    expect(scan.findings.find((f) => f.id === 'CVE-2023-44487')?.exploitAvailable).toBe(true);
  });
});

describe('Inspector2 Finding events', () => {
  it('normalise with EPSS and the Java-style timestamps', () => {
    const event = loadFixture('eventbridge/inspector2-finding-ecr');
    const finding = parseInspectorFinding(event.detail);
    expect(finding).toMatchObject({
      id: 'CVE-2023-44487',
      severity: 'HIGH',
      epss: 0.94416,
      inspectorScore: 7.5,
      fixAvailable: true,
      exploitAvailable: true,
      fixedIn: '0:1.52.0-1+deb12u1',
      firstObservedAt: '2026-11-20T09:16:19.804Z',
      exploitedAt: '2026-11-12T04:27:51.000Z',
    });
  });

  it('drops an EPSS score outside 0..1 rather than trusting it', () => {
    const { detail } = loadFixture('eventbridge/inspector2-finding-ecr');
    const finding = parseInspectorFinding({ ...detail, epss: { score: 94.4 } });
    expect(finding.epss).toBeUndefined();
    expect(parseInspectorFinding({ ...detail, epss: { score: 0 } }).epss).toBe(0);
  });

  it("takes Inspector's adjusted CVSS (inspectorScoreDetails) over the base scores", () => {
    const { detail } = loadFixture('eventbridge/inspector2-finding-ecr');
    const adjusted = {
      score: 5.3,
      scoringVector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H',
      version: '3.1',
    };
    const finding = parseInspectorFinding({
      ...detail,
      inspectorScoreDetails: { adjustedCvss: adjusted },
    });
    expect(finding.cvss).toEqual({ score: 5.3, version: '3.1', vector: adjusted.scoringVector });
    const { inspectorScoreDetails: _, ...bare } = detail;
    expect(parseInspectorFinding(bare).cvss).toMatchObject({ score: 7.5 });
  });
});

it('rejects a malformed Inspector finding', () => {
  expect(() => parseInspectorFinding({ severity: 'HIGH' })).toThrow('packageVulnerabilityDetails');
});

describe('scan states', () => {
  it.each([
    ['COMPLETE', 'complete'],
    ['ACTIVE', 'complete'],
    ['IN_PROGRESS', 'in-progress'],
    ['PENDING', 'in-progress'],
    ['FAILED', 'unscanned'],
    ['UNSUPPORTED_IMAGE', 'unscanned'],
    ['SCAN_ELIGIBILITY_EXPIRED', 'monitoring-ended'],
    ['LIMIT_EXCEEDED', 'monitoring-ended'],
    ['FINDINGS_UNAVAILABLE', 'monitoring-ended'],
    ['IMAGE_ARCHIVED', 'monitoring-ended'],
    ['SOMETHING_NEW', 'unscanned'],
    [undefined, 'unscanned'],
  ])('%s → %s', (status, state) => expect(scanStateOf(status)).toBe(state));

  it('an in-progress response carries no findings', () => {
    expect(normaliseScanFindings({ imageScanStatus: { status: 'IN_PROGRESS' } })).toMatchObject({
      state: 'in-progress',
      findings: [],
    });
  });

  it('merges pages in order', () => {
    const page = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-basic'));
    const merged = mergeScanFindingPages([page, page]);
    expect(merged.findings).toHaveLength(12);
    expect(() => mergeScanFindingPages([])).toThrow(InvalidFindingsError);
  });
});

describe('malformed responses', () => {
  it.each([
    [null, '(root)'],
    ['text', '(root)'],
    [
      { imageScanFindings: { findings: [{ severity: 'HIGH' }] } },
      'imageScanFindings.findings.0.name',
    ],
    [
      { imageScanFindings: { enhancedFindings: [{ severity: 'HIGH' }] } },
      'packageVulnerabilityDetails',
    ],
    [{ imageScanStatus: 'COMPLETE' }, 'imageScanStatus'],
  ])('rejects %j naming the field', (response, field) => {
    expect(() => normaliseScanFindings(response, 'f.json')).toThrow(InvalidFindingsError);
    expect(() => normaliseScanFindings(response, 'f.json')).toThrow(field);
  });
});
