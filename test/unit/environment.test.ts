import * as z from 'zod';
import { ConfigError } from '../../shared/domain/errors';
import { readEnvironmentOf } from '../../shared/environment';

const schema = z.object({ TABLE_NAME: z.string().min(3), LIMIT: z.coerce.number().default(5) });

describe('readEnvironmentOf: the one reader of every function setting', () => {
  it('returns the parsed settings, defaults applied', () => {
    expect(readEnvironmentOf(schema, { TABLE_NAME: 'verdicts' })).toEqual({
      TABLE_NAME: 'verdicts',
      LIMIT: 5,
    });
  });

  it('names every problem, as the function environment unless told what it reads', () => {
    const read = (what?: string) => () =>
      readEnvironmentOf(schema, { TABLE_NAME: 't', LIMIT: 'many' }, what);
    expect(read()).toThrow(ConfigError);
    expect(read()).toThrow(/^invalid function environment: TABLE_NAME: .*; LIMIT: /);
    expect(read('signature settings')).toThrow(/^invalid signature settings: TABLE_NAME: /);
  });
});
