import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/module-graph';

/**
 * test/unit is pure (jest.config.js): tests of adapters over scripted AWS clients live in
 * test/adapters, tests over real servers in test/integration. A unit test that imports a
 * client mock, an SDK client as a value, or a network module fails here.
 */
const IMPURE = [
  /from 'aws-sdk-client-mock'/,
  /^import \{[^}]*\} from '@aws-sdk\/client-/m,
  /from 'node:(?:http|https|net|tls|dgram)'/,
  /from '\.\.\/support\/(?:dynalite|s3rver|registry)'/,
];

function impurities(source: string): string[] {
  return IMPURE.filter((pattern) => pattern.test(source)).map(String);
}

it('recognises what makes a test impure (the check itself can fail)', () => {
  expect(impurities("import { mockClient } from 'aws-sdk-client-mock';")).toHaveLength(1);
  expect(impurities("import { SQSClient } from '@aws-sdk/client-sqs';")).toHaveLength(1);
  expect(impurities("import type { SQSClient } from '@aws-sdk/client-sqs';")).toEqual([]);
  expect(impurities("import { createServer } from 'node:http';")).toHaveLength(1);
});

it('test/unit imports no client mock, SDK client or network module', () => {
  const dir = join(ROOT, 'test/unit');
  const offenders = readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) =>
      impurities(readFileSync(join(dir, name), 'utf8')).map((why) => `${name}: ${why}`),
    );
  expect(offenders).toEqual([]);
});
