import { needsAttestation } from '../domain/attestation';
import { StoreConflictError } from '../domain/errors';
import type { PlatformScan } from '../domain/evaluate';
import type { EvaluateRequest } from '../domain/evaluate-request';
import { type ScanFindings, UNKNOWN_SCANNERS } from '../domain/findings';
import {
  type FactsRef,
  type FindingsFacts,
  factsOfScan,
  factsRefOf,
  reusableRef,
  sameRef,
  scanOfFacts,
} from '../domain/findings-facts';
import { type ImageFacts, isSupplyChainArtifact } from '../domain/image-facts';
import { imageId } from '../domain/image-ref';
import { indexScan, judge } from '../domain/judgement';
import type { KnownExploited } from '../domain/known-exploited';
import { type Policy, settingsFor } from '../domain/policy';
import type { SignatureResult } from '../domain/verdict';
import {
  deletedDraft,
  planWrite,
  type VerdictRecord,
  type WriteKind,
} from '../domain/verdict-record';
import {
  type Clock,
  type FindingsFactsStore,
  type FindingsSource,
  type ImageSource,
  type Log,
  type SignatureVerifier,
  silentLog,
  systemClock,
  type VerdictAttestor,
  type VerdictStore,
} from '../ports';

export interface EvaluateImageOptions {
  images: ImageSource;
  findings: FindingsSource;
  /** Where the findings each verdict was judged on are kept (written before the verdict). */
  facts?: FindingsFactsStore;
  store: VerdictStore;
  policy: Policy;
  signatures?: SignatureVerifier;
  /** Signs and attaches a verdict attestation after the verdict is written (when due). */
  attestor?: VerdictAttestor;
  /** An unchanged verdict is re-attested after this long (default 24h). */
  attestationRefresh?: string;
  clock?: Clock;
  log?: Log;
  /** Attempts when a concurrent evaluation wrote first (each re-reads all facts). */
  maxAttempts?: number;
  /** The KEV catalog, asked only for repositories whose rule sets `block.exploited`. */
  knownExploited?: { current(now: Date): Promise<KnownExploited> };
}

export interface EvaluateImageResult {
  request: EvaluateRequest;
  write: WriteKind;
  record?: VerdictRecord;
  deleted: boolean;
  /** Set when the image is not a workload (a signature or attestation stored beside one). */
  skipped?: 'supply-chain-artifact';
  /** True when a new verdict attestation was attached (and recorded). */
  attested?: boolean;
}

/**
 * What a batch read for this request ahead of time (evaluate-batch: one BatchGetItem per
 * 100 images instead of a GetItem each): its CURRENT record and the stored facts it may reuse.
 */
export interface ReadAhead {
  previous: VerdictRecord | undefined;
  /** Facts by `factsKeyOf(digest, ref)`. */
  facts: Map<string, FindingsFacts>;
}

export function factsKeyOf(digest: string, ref: Pick<FactsRef, 'scanner' | 'completedAt'>) {
  return `${digest}#${ref.completedAt}#${ref.scanner}`;
}

/**
 * Re-evaluates one digest from current facts and stores the verdict (DESIGN §3, evaluate).
 * Level-triggered: the request only names the image; duplicates and reordering are harmless.
 * `ahead` serves the first attempt only: a retry after a concurrent write reads afresh.
 */
export async function evaluateImage(
  request: EvaluateRequest,
  options: EvaluateImageOptions,
  ahead?: ReadAhead,
): Promise<EvaluateImageResult> {
  const { maxAttempts = 4 } = options;
  const log = options.log ?? silentLog;
  for (let attempt = 1; ; attempt++) {
    try {
      return await evaluateOnce(request, options, attempt === 1 ? ahead : undefined);
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt >= maxAttempts) throw error;
      log.info('verdict changed concurrently; re-evaluating from fresh facts', {
        image: imageId(request.key),
        attempt,
      });
    }
  }
}

async function evaluateOnce(
  req: EvaluateRequest,
  opts: EvaluateImageOptions,
  ahead: ReadAhead | undefined,
): Promise<EvaluateImageResult> {
  const now = (opts.clock ?? systemClock)();
  // A planner's request carries the listing (no scan started since): no second DescribeImages.
  const [facts, previous] = await Promise.all([
    req.seen ? structuredClone(req.seen) : opts.images.describeImage(req.key),
    ahead ? ahead.previous : opts.store.get(req.key),
  ]);
  if (!facts) {
    if (!previous) return { request: req, write: 'none', deleted: true };
    const plan = planWrite(previous, deletedDraft(previous, now));
    if (plan.kind !== 'none') await opts.store.write(plan);
    return { request: req, write: plan.kind, record: plan.record, deleted: true };
  }
  if (isSupplyChainArtifact(facts)) {
    return { request: req, write: 'none', deleted: false, skipped: 'supply-chain-artifact' };
  }
  const reuse =
    req.seen && opts.facts && previous && !previous.deletedAt
      ? { refs: previous.facts, store: opts.facts, ahead: ahead?.facts }
      : undefined;
  const { scan, platforms } = await readFindings(facts, opts.findings, reuse);
  const signature = await verifySignature(facts, opts);
  const knownExploited =
    opts.knownExploited && settingsFor(opts.policy, facts.key).block.exploited
      ? await opts.knownExploited.current(now)
      : undefined;
  const refs = await storeFacts(facts, scan, platforms, previous, opts.facts);
  const plan = judge({
    image: facts,
    scan,
    ...(platforms && { platforms }),
    ...(signature && { signature }),
    ...(knownExploited && { knownExploited }),
    ...(previous && { previous }),
    facts: refs,
    policy: opts.policy,
    now,
  });
  // A nightly re-judgement that changed nothing writes nothing (docs/rescans.md, Writes).
  const quiet = plan.kind === 'touch' && req.trigger === 'rescan';
  if (plan.kind !== 'none') await opts.store.write(quiet ? { ...plan, quiet } : plan);
  if (!opts.attestor || !needsAttestation(plan.record, now, opts.attestationRefresh)) {
    return { request: req, write: plan.kind, record: plan.record, deleted: false };
  }
  // After the verdict is stored (DESIGN §3); a failure here fails the message, and the
  // retry re-attests because the record still shows no attestation newer than the verdict.
  const attestation = await opts.attestor.attest(plan.record, now);
  const { version, transitionId, transitionAt, previousVerdict, ...draft } = plan.record;
  const recorded = planWrite(plan.record, { ...draft, attestation });
  await opts.store.write(recorded);
  return {
    request: req,
    write: plan.kind,
    record: recorded.record,
    deleted: false,
    attested: true,
  };
}

/**
 * Keeps the findings of each judged manifest's complete scan, before the verdict naming them
 * is written (DESIGN §5). Facts the previous verdict already names (same scan, same content)
 * are not written again.
 */
async function storeFacts(
  image: ImageFacts,
  scan: ScanFindings,
  platforms: PlatformScan[] | undefined,
  previous: VerdictRecord | undefined,
  store: FindingsFactsStore | undefined,
): Promise<FactsRef[]> {
  if (!store) return [];
  const judged = platforms
    ? platforms.map((p) => factsOfScan({ ...image.key, digest: p.digest }, p.scan))
    : [factsOfScan(image.key, scan)];
  const known = previous?.facts ?? [];
  const refs: FactsRef[] = [];
  for (const facts of judged) {
    if (!facts) continue;
    const ref = factsRefOf(facts);
    refs.push(known.some((k) => sameRef(k, ref)) ? ref : await store.put(facts));
  }
  return refs;
}

/** Stored facts a rescan may judge from instead of reading findings again. */
interface Reuse {
  refs: FactsRef[] | undefined;
  store: FindingsFactsStore;
  ahead: Map<string, FindingsFacts> | undefined;
}

/** An index is judged from each platform manifest's own scan (ECR scans those, not the index). */
async function readFindings(
  facts: ImageFacts,
  findings: FindingsSource,
  reuse: Reuse | undefined,
): Promise<{ scan: ScanFindings; platforms?: PlatformScan[] }> {
  const scanners = findings.scanners ?? UNKNOWN_SCANNERS;
  const read = async (digest: string, listedAt: string | undefined): Promise<ScanFindings> => {
    const key = { ...facts.key, digest };
    const ref = reuse && reusableRef(reuse.refs, digest, listedAt, scanners);
    const stored =
      ref && (reuse.ahead?.get(factsKeyOf(digest, ref)) ?? (await reuse.store.get(key, ref)));
    return stored ? scanOfFacts(stored) : findings.getFindings(key);
  };
  if (!facts.platforms) return { scan: await read(facts.key.digest, facts.scanCompletedAt) };
  const platforms = await Promise.all(
    facts.platforms.map(async ({ scanCompletedAt, ...p }) => ({
      ...p,
      scan: await read(p.digest, scanCompletedAt),
    })),
  );
  return { scan: indexScan(platforms, scanners.fallback), platforms };
}

async function verifySignature(
  facts: ImageFacts,
  options: EvaluateImageOptions,
): Promise<SignatureResult | undefined> {
  const trust = settingsFor(options.policy, facts.key).signatures;
  if (!options.signatures) return undefined;
  if (!trust.required && trust.keys.length === 0 && trust.keyless.length === 0) return undefined;
  return options.signatures.verify(facts, trust);
}
