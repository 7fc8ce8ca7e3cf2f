import { createHash, X509Certificate } from 'node:crypto';
import {
  type Bundle,
  type TransparencyLogEntry,
  toDSSEBundle,
  toMessageSignatureBundle,
} from '@sigstore/bundle';
import { SignatureVerificationError } from './bundles';

/**
 * cosign's pre-bundle storage: `sha256-<hex>.sig` / `.att` manifests whose layers carry the
 * signed payload and, in annotations, the signature, certificate and Rekor bundle.
 * Here they are turned into sigstore bundles so one verifier serves both formats.
 */
export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  rekorBundle: 'dev.sigstore.cosign/bundle',
  predicateType: 'predicateType',
} as const;

export interface LegacyLayer {
  payload: Buffer;
  annotations: Record<string, string>;
}

interface RekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function malformed(message: string, cause?: unknown): SignatureVerificationError {
  return new SignatureVerificationError('BUNDLE_MALFORMED', `cosign layer: ${message}`, { cause });
}

function pemToDer(pem: string): Buffer[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => Buffer.from(new X509Certificate(block).raw));
}

function derToPem(der: Uint8Array): string {
  return new X509Certificate(Buffer.from(der)).toString();
}

/** The Rekor "bundle" annotation (a signed entry timestamp) as a tlog entry. */
export function tlogEntryFromRekorBundle(json: string): TransparencyLogEntry {
  let rekor: RekorBundle;
  try {
    rekor = JSON.parse(json) as RekorBundle;
  } catch (error) {
    throw malformed('the Rekor bundle annotation is not JSON', error);
  }
  const body = Buffer.from(rekor.Payload?.body ?? '', 'base64');
  let kind: { kind?: string; apiVersion?: string };
  try {
    kind = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw malformed('the Rekor entry body is not JSON', error);
  }
  return {
    logIndex: String(rekor.Payload.logIndex),
    logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex') },
    kindVersion: { kind: kind.kind ?? '', version: kind.apiVersion ?? '' },
    integratedTime: String(rekor.Payload.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(rekor.SignedEntryTimestamp, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody: body,
  };
}

function keyMaterial(annotations: Record<string, string>) {
  const certificatePem = annotations[ANNOTATION.certificate];
  const certificates = certificatePem
    ? [...pemToDer(certificatePem), ...pemToDer(annotations[ANNOTATION.chain] ?? '')]
    : [];
  const rekor = annotations[ANNOTATION.rekorBundle];
  return {
    certificate: certificates[0],
    tlogEntries: rekor ? [tlogEntryFromRekorBundle(rekor)] : [],
    chain: certificates,
  };
}

function withMaterial(bundle: Bundle, material: ReturnType<typeof keyMaterial>): Bundle {
  if (material.chain.length > 1) {
    bundle.verificationMaterial.content = {
      $case: 'x509CertificateChain',
      x509CertificateChain: { certificates: material.chain.map((rawBytes) => ({ rawBytes })) },
    };
  }
  bundle.verificationMaterial.tlogEntries = material.tlogEntries;
  return bundle;
}

/** A `.sig` layer: a message signature over the simplesigning payload bytes. */
export function legacySignatureBundle(layer: LegacyLayer): Bundle {
  const signature = layer.annotations[ANNOTATION.signature];
  if (!signature) throw malformed(`no ${ANNOTATION.signature} annotation`);
  const material = keyMaterial(layer.annotations);
  return withMaterial(
    toMessageSignatureBundle({
      digest: createHash('sha256').update(layer.payload).digest(),
      signature: Buffer.from(signature, 'base64'),
      ...(material.certificate && { certificate: material.certificate, certificateChain: true }),
    }),
    material,
  );
}

interface DsseEnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

/** An `.att` layer: a DSSE envelope (JSON) with one signature. */
export function legacyAttestationBundle(layer: LegacyLayer): Bundle {
  let envelope: DsseEnvelopeJson;
  try {
    envelope = JSON.parse(layer.payload.toString('utf8')) as DsseEnvelopeJson;
  } catch (error) {
    throw malformed('the attestation layer is not a DSSE envelope', error);
  }
  const sig = envelope.signatures?.[0];
  if (!sig || typeof envelope.payload !== 'string')
    throw malformed('the DSSE envelope has no signature');
  const material = keyMaterial(layer.annotations);
  return withMaterial(
    toDSSEBundle({
      artifact: Buffer.from(envelope.payload, 'base64'),
      artifactType: envelope.payloadType,
      signature: Buffer.from(sig.sig, 'base64'),
      ...(sig.keyid && { keyHint: sig.keyid }),
      ...(material.certificate && { certificate: material.certificate, certificateChain: true }),
    }),
    material,
  );
}

/** The DSSE envelope JSON cosign stores as an `.att` layer. */
export function dsseEnvelopeJson(bundle: Bundle): Buffer {
  if (bundle.content.$case !== 'dsseEnvelope') throw malformed('expected a DSSE bundle');
  const { payload, payloadType, signatures } = bundle.content.dsseEnvelope;
  return Buffer.from(
    JSON.stringify({
      payloadType,
      payload: payload.toString('base64'),
      signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
    }),
  );
}

/** The layer annotations cosign writes for a bundle's signature, certificate and Rekor entry. */
export function legacyAnnotations(bundle: Bundle): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (bundle.content.$case === 'messageSignature') {
    annotations[ANNOTATION.signature] =
      bundle.content.messageSignature.signature.toString('base64');
  } else {
    annotations[ANNOTATION.signature] = '';
  }
  const content = bundle.verificationMaterial.content;
  const certificates =
    content.$case === 'x509CertificateChain'
      ? content.x509CertificateChain.certificates.map((c) => c.rawBytes)
      : content.$case === 'certificate'
        ? [content.certificate.rawBytes]
        : [];
  if (certificates[0]) annotations[ANNOTATION.certificate] = derToPem(certificates[0]);
  if (certificates.length > 1)
    annotations[ANNOTATION.chain] = certificates.slice(1).map(derToPem).join('');
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (entry?.inclusionPromise) {
    const rekor: RekorBundle = {
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp.toString('base64'),
      Payload: {
        body: entry.canonicalizedBody.toString('base64'),
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: entry.logId?.keyId.toString('hex') ?? '',
      },
    };
    annotations[ANNOTATION.rekorBundle] = JSON.stringify(rekor);
  }
  return annotations;
}

/** cosign's simplesigning payload: binds the signature to one image digest. */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/**
 * Throws DIGEST_MISMATCH unless the payload names `digest`: a signature of another image.
 * Returns the identity it was signed for (`critical.identity.docker-reference`), if any.
 */
export function checkSimpleSigningPayload(payload: Buffer, digest: string): string | undefined {
  let critical: SimpleSigningCritical | undefined;
  try {
    critical = (JSON.parse(payload.toString('utf8')) as { critical?: SimpleSigningCritical })
      .critical;
  } catch (error) {
    throw malformed('the simplesigning payload is not JSON', error);
  }
  const signed = critical?.image?.['docker-manifest-digest'];
  if (signed !== digest) {
    throw new SignatureVerificationError(
      'DIGEST_MISMATCH',
      `the signed payload names image ${String(signed)}, not ${digest}: a signature copied from another image`,
    );
  }
  return signedReference(critical);
}

interface SimpleSigningCritical {
  identity?: { 'docker-reference'?: unknown };
  image?: { 'docker-manifest-digest'?: unknown };
}

/** The docker-reference a simplesigning `critical` section names, when it is a string. */
export function signedReference(critical: unknown): string | undefined {
  const reference = (critical as SimpleSigningCritical | null | undefined)?.identity?.[
    'docker-reference'
  ];
  return typeof reference === 'string' ? reference : undefined;
}
