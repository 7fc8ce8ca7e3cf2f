import {
  IN_TOTO_PAYLOAD_TYPE,
  VULN_PREDICATE_TYPE,
  verdictStatement,
} from '../../domain/attestation';
import type { VerdictRecord } from '../../domain/verdict-record';
import type { Signer, VerdictAttestor } from '../../ports';
import type { RegistryClient } from '../oci/client';
import { attachAttestation } from './attestations';
import { keyHint, signDsseBundle } from './bundles';

export interface RegistryVerdictAttestorOptions {
  clientFor: (registry: string) => RegistryClient;
  signer: Signer;
  /** Written into the predicate's scanner version. */
  version?: string;
  /** The predicate's `scanner.uri` by scanner name (absent: the name itself). */
  scannerDocs?: ReadonlyMap<string, string>;
}

/**
 * The in-toto vuln statement of a verdict, signed through the Signer port (KMS or a local
 * key) as a DSSE sigstore bundle, attached as a referrer and in cosign's `.att` manifest.
 */
export class RegistryVerdictAttestor implements VerdictAttestor {
  private owner?: Promise<string>;

  constructor(private readonly options: RegistryVerdictAttestorOptions) {}

  async attest(record: VerdictRecord, now: Date): Promise<{ digest: string; attestedAt: string }> {
    const { signer } = this.options;
    const statement = verdictStatement(
      record,
      this.options.version ?? '0',
      this.options.scannerDocs,
    );
    const bundle = await signDsseBundle(
      Buffer.from(JSON.stringify(statement)),
      IN_TOTO_PAYLOAD_TYPE,
      signer,
    );
    this.owner ??= signer.publicKeyPem().then(keyHint);
    const attached = await attachAttestation(
      this.options.clientFor(record.registry),
      record,
      bundle,
      {
        predicateType: VULN_PREDICATE_TYPE,
        owner: await this.owner,
        created: now.toISOString(),
      },
    );
    return { digest: attached.referrer.digest, attestedAt: now.toISOString() };
  }
}
