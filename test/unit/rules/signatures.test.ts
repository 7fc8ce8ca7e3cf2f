import { signatures } from '../../../shared/domain/rules/signatures';
import { manifestFacts } from '../../support/rule-facts';

const REQUIRED = 'defaults: { signatures: { required: true } }';

describe('rule signatures', () => {
  it('a verified signature is recorded with its signer', () => {
    const facts = manifestFacts('', { signature: { status: 'verified', signer: 'ci' } });
    expect(signatures(facts)?.reasons).toEqual([
      { code: 'SIGNATURE_VERIFIED', effect: 'info', message: 'signed by ci' },
    ]);
  });

  it.each([
    ['unsigned', undefined, 'a trusted signature is required but no signature was found'],
    [
      'invalid',
      'bad digest',
      'a trusted signature is required but no signature verified (bad digest)',
    ],
    [
      'not-checked',
      undefined,
      'a trusted signature is required but signatures were not checked (no verifier configured)',
    ],
  ] as const)('required and %s fails', (status, reason, message) => {
    const facts = manifestFacts(REQUIRED, { signature: { status, ...(reason && { reason }) } });
    expect(signatures(facts)?.reasons).toEqual([
      { code: 'SIGNATURE_UNVERIFIED', effect: 'fail', message },
    ]);
  });

  it('not required: unsigned says nothing, invalid is recorded as info', () => {
    expect(signatures(manifestFacts('', { signature: { status: 'unsigned' } }))).toBeUndefined();
    expect(signatures(manifestFacts(''))).toBeUndefined();
    expect(signatures(manifestFacts('', { signature: { status: 'invalid' } }))?.reasons).toEqual([
      {
        code: 'SIGNATURE_UNVERIFIED',
        effect: 'info',
        message: 'no signature verified (invalid signature)',
      },
    ]);
  });
});
