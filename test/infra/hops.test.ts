import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Hop, hopsOf, shortName } from './hops';
import { resourcesOf, synthFull } from './support';

// GIVEN the watcher with every optional part on, so every hop exists.
const { template } = synthFull();

interface Row extends Hop {
  alarms: string[];
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** The rows of the table in docs/hops.md (the one whose header starts with "| From |"). */
function documentedHops(): Row[] {
  const lines = readFileSync(join(__dirname, '..', '..', 'docs', 'hops.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('| From |'));
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [from, to, retries, kept, alarms] = line
      .split('|')
      .slice(1)
      .map((c) => c.trim());
    const retryCount = Number.parseInt(retries ?? '', 10);
    rows.push({
      from: ticked(from ?? '')[0] ?? '',
      to: ticked(to ?? '')[0] ?? '',
      retries: Number.isNaN(retryCount) ? undefined : retryCount,
      kept: ticked(kept ?? '')[0],
      alarms: ticked(alarms ?? ''),
    });
  }
  return rows;
}

const key = (h: Hop) =>
  `${h.from} -> ${h.to}: retries ${h.retries ?? 'service policy'}, kept in ${h.kept ?? 'nothing'}`;

/** Short names of the resources an alarm's properties refer to. */
const alarmRefs = new Map(
  resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [
    shortName(id),
    [...JSON.stringify(alarm).matchAll(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"/g)].map((m) =>
      shortName(m[1] as string),
    ),
  ]),
);

describe('docs/hops.md, against the synthesized stack', () => {
  const documented = documentedHops();
  const deployed = hopsOf(template);

  it('documents a non-trivial table', () => {
    expect(documented.length).toBeGreaterThanOrEqual(10);
  });

  it('lists every hop the template configures, with its retries and failure store', () => {
    expect(documented.map(key).sort()).toEqual(deployed.map(key).sort());
  });

  it('keeps what every hop could not deliver somewhere', () => {
    expect(deployed.filter((h) => h.kept === undefined).map(key)).toEqual([]);
  });

  it.each(documented.map((row) => [key(row), row] as const))(
    '%s: its alarms exist and one watches the failure store',
    (_, row) => {
      const missing = row.alarms.filter((a) => !alarmRefs.has(a));
      expect(missing).toEqual([]);
      const watching = row.alarms.filter((a) => alarmRefs.get(a)?.includes(row.kept ?? ''));
      expect(watching.length).toBeGreaterThan(0);
    },
  );
});
