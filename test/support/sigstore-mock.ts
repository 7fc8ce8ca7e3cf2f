import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fulcioHandler, initializeCA, initializeCTLog } from '@sigstore/mock/dist/fulcio';
import { initializeTLog, rekorHandler } from '@sigstore/mock/dist/rekor';
import type { HandlerFn } from '@sigstore/mock/dist/shared.types';
import { HashAlgorithm, PublicKeyDetails, type TrustedRoot } from '@sigstore/protobuf-specs';
import {
  type Bundle,
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
} from '@sigstore/sign';

/** A keyless identity as Fulcio certifies it (URI SAN + issuer extension). */
export interface MockIdentity {
  issuer: string;
  subject: string;
}

export interface MockSigstore {
  trustedRoot: TrustedRoot;
  /** Keyless message signature over `data` (Fulcio certificate + Rekor hashedrekord entry). */
  signMessage(data: Buffer, identity: MockIdentity): Promise<Bundle>;
  /** Keyless DSSE signature (Rekor dsse entry). */
  signDsse(payload: Buffer, payloadType: string, identity: MockIdentity): Promise<Bundle>;
  stop(): Promise<void>;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const der = (key: import('node:crypto').KeyObject) => key.export({ type: 'spki', format: 'der' });

/** An unsigned JWT: the mock Fulcio reads claims without checking a signature. */
function identityToken(identity: MockIdentity): string {
  const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none' })}.${enc({ iss: identity.issuer, sub: identity.subject, aud: 'sigstore' })}.`;
}

/**
 * sigstore's mock Fulcio (CA + CT log) and Rekor served on a random loopback port, with a
 * trusted root for them: real keyless signing through @sigstore/sign, offline.
 */
export async function startMockSigstore(): Promise<MockSigstore> {
  const caKeys = keyPair();
  const tlogKeys = keyPair();
  const ctlog = await initializeCTLog(caKeys);
  const ca = await initializeCA(caKeys, ctlog);
  const routes = new Map<string, HandlerFn>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const handler = routes.get(req.url ?? '');
      if (!handler) return void res.writeHead(404).end();
      handler(Buffer.concat(chunks).toString()).then(({ statusCode, response, contentType }) => {
        res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' });
        res.end(response);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tlog = await initializeTLog(url, tlogKeys);
  for (const handler of [fulcioHandler(ca), rekorHandler(tlog)])
    routes.set(handler.path, handler.fn);

  const start = new Date(Date.now() - 60_000);
  const trustedRoot: TrustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer) }] },
        validFor: { start, end: undefined },
        operator: 'mock',
      },
    ],
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: HashAlgorithm.SHA2_256,
        publicKey: {
          rawBytes: der(tlogKeys.publicKey),
          keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
          validFor: { start, end: undefined },
        },
        logId: { keyId: createHash('sha256').update(der(tlogKeys.publicKey)).digest() },
        checkpointKeyId: undefined,
        operator: 'mock',
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: HashAlgorithm.SHA2_256,
        publicKey: {
          rawBytes: der(caKeys.publicKey),
          keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
          validFor: { start, end: undefined },
        },
        logId: { keyId: Buffer.from(ctlog.logID.buffer) },
        checkpointKeyId: undefined,
        operator: 'mock',
      },
    ],
    timestampAuthorities: [],
  };

  const builderOptions = (identity: MockIdentity) => ({
    signer: new FulcioSigner({
      fulcioBaseURL: url,
      identityProvider: { getToken: async () => identityToken(identity) },
    }),
    // intoto entries for DSSE: the mock Rekor's dsse entries leave out the signatures.
    witnesses: [new RekorWitness({ rekorBaseURL: url, entryType: 'intoto' })],
  });
  return {
    trustedRoot,
    signMessage: (data, identity) =>
      new MessageSignatureBundleBuilder(builderOptions(identity)).create({ data }),
    signDsse: (payload, type, identity) =>
      new DSSEBundleBuilder(builderOptions(identity)).create({ data: payload, type }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
