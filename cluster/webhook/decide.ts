import { isAllowed, type NotAdmittedCode, ownEntry } from '../../shared/domain/allowlist';
import { matchesAnyGlob } from '../../shared/domain/glob';
import type { AllowlistIndex } from './allowlist-index';
import type { Decision, DecisionOptions, ImageCheck, ReasonCode, RequestFacts } from './decision';
import { parseImage } from './image-refs';
import { clip, imageWarning } from './messages';
import type { ContainerImage } from './workloads';

/** Checks one image against the allowlist held now (`undefined`: none loaded yet). */
export function checkImage(
  container: ContainerImage,
  index: AllowlistIndex | undefined,
  options: DecisionOptions,
  now: Date,
): ImageCheck {
  const parsed = parseImage(container.image);
  if (!parsed.ok) return deny(container, 'INVALID_REFERENCE', parsed.message);
  const { ref, repository } = parsed;
  if (options.registries && !matchesAnyGlob(ref.registry, options.registries)) {
    return unwatched(container, ref.registry, options);
  }
  if (!index || index.validUntilMs <= now.getTime()) {
    const reason = index ? 'ALLOWLIST_EXPIRED' : 'NO_ALLOWLIST';
    const why = index
      ? `the allowlist expired at ${index.allowlist.validUntil} and no newer one could be loaded`
      : 'no verified allowlist has been loaded yet';
    return options.failureMode === 'open'
      ? { container, outcome: 'warn', reason, message: `${why}; admitted (failureMode open)` }
      : deny(container, reason, `${why}; denied (failureMode closed)`);
  }
  if (!options.registries && !index.registries.has(ref.registry)) {
    return unwatched(container, ref.registry, options);
  }
  if (ref.digest) return checkDigest(container, index, repository, ref.digest, now);
  if (!options.resolveTags) {
    return deny(
      container,
      'NOT_PINNED',
      `"${container.image}" is not pinned by digest: use ${repository}@sha256:<digest>`,
    );
  }
  const digest = index.tags.get(repository)?.get(ref.tag ?? 'latest');
  if (digest === null) {
    return deny(
      container,
      'TAG_AMBIGUOUS',
      `tag "${ref.tag ?? 'latest'}" of ${repository} names several allowlisted digests: pin one by digest`,
    );
  }
  if (digest === undefined || !isAllowed(index.allowlist, repository, digest, now)) {
    return deny(
      container,
      'TAG_NOT_ALLOWLISTED',
      `tag "${ref.tag ?? 'latest'}" of ${repository} is not on any allowlisted digest`,
    );
  }
  return {
    container,
    outcome: 'warn',
    reason: 'TAG_RESOLVED',
    message: `"${container.image}" is not pinned; the allowlist maps it to ${digest}, which the node may not pull: pin it by digest`,
    digest,
  };
}

function checkDigest(
  container: ContainerImage,
  index: AllowlistIndex,
  repository: string,
  digest: string,
  now: Date,
): ImageCheck {
  const entry = isAllowed(index.allowlist, repository, digest, now);
  if (entry) {
    return entry.verdict === 'WARN'
      ? {
          container,
          outcome: 'warn',
          reason: 'VERDICT_WARN',
          message: `${repository}@${digest} is admitted with verdict WARN: see its reasons in registry-watcher`,
          digest,
        }
      : { container, outcome: 'admit', reason: 'ALLOWLISTED', message: 'allowlisted', digest };
  }
  const lapsed = ownEntry(index.allowlist, repository, digest)?.expiresAt;
  const ref = `${repository}@${digest}`;
  if (lapsed) {
    return deny(
      container,
      'ENTRY_EXPIRED',
      `admitted until ${lapsed} (grace period or exception ended): ${explainHint(ref)}`,
    );
  }
  const refused = index.refused;
  const code = refused?.byRepository.get(repository)?.get(digest);
  if (code) return deny(container, 'NOT_ALLOWLISTED', `${NOT_ADMITTED[code]}: ${explainHint(ref)}`);
  const why = refused?.complete
    ? `never evaluated (as of the allowlist of ${index.allowlist.generatedAt}; push it to a watched repository, or wait for its scan)`
    : 'not in the allowlist (never evaluated, pending, failed or deleted: this allowlist does not say which)';
  return deny(container, 'NOT_ALLOWLISTED', `${why}: ${explainHint(ref)}`);
}

/** What the document's `notAdmitted` section says, in the denial's words. */
const NOT_ADMITTED: Record<NotAdmittedCode, string> = {
  FAIL: 'failed its evaluation (verdict FAIL)',
  PENDING: 'pending (verdict PENDING: its scan has not finished)',
  ERROR: 'could not be evaluated (verdict ERROR; it is retried)',
  DELETED: 'deleted from the registry (push it again, or use a digest that exists)',
  EXPIRED: 'admission ended (grace period or exception ran out)',
};

/** The command that says why, and what to do, named in every denial of a digest. */
function explainHint(ref: string): string {
  return `run registry-watcher explain ${ref}`;
}

function unwatched(
  container: ContainerImage,
  registry: string,
  options: DecisionOptions,
): ImageCheck {
  const message = `registry ${registry} is not watched by registry-watcher`;
  if (options.unwatchedRegistries === 'allow') {
    return { container, outcome: 'admit', reason: 'UNWATCHED_REGISTRY', message };
  }
  if (options.unwatchedRegistries === 'warn') {
    return { container, outcome: 'warn', reason: 'UNWATCHED_REGISTRY', message };
  }
  return deny(container, 'UNWATCHED_REGISTRY', `${message}: use an image from a watched registry`);
}

function deny(container: ContainerImage, reason: ReasonCode, message: string): ImageCheck {
  return { container, outcome: 'deny', reason, message };
}

/** The whole request: per-image checks, then mode and break-glass. */
export function decide(
  facts: RequestFacts,
  index: AllowlistIndex | undefined,
  options: DecisionOptions,
  now: Date,
): Decision {
  const checks = facts.images.map((image) => checkImage(image, index, options, now));
  const problems = checks.filter((c) => c.outcome === 'deny');
  const notes = checks.filter((c) => c.outcome === 'warn');
  const warnings = notes.map((c) => imageWarning(c));
  if (problems.length === 0) {
    return result(
      true,
      notes[0]?.reason ?? checks[0]?.reason ?? 'ALLOWLISTED',
      checks,
      [],
      warnings,
    );
  }
  if (facts.breakGlass) {
    const glass = [
      clip(
        `break-glass (${facts.breakGlass}): ${problems.length} image(s) admitted that policy denies`,
      ),
      ...problems.map((c) => imageWarning(c)),
      ...warnings,
    ];
    return {
      ...result(true, 'BREAK_GLASS', checks, problems, glass),
      breakGlass: facts.breakGlass,
    };
  }
  if (facts.mode === 'warn') {
    return result(true, problems[0]?.reason ?? 'NOT_ALLOWLISTED', checks, problems, [
      ...problems.map((c) => imageWarning(c, 'would be denied: ')),
      ...warnings,
    ]);
  }
  return result(false, problems[0]?.reason ?? 'NOT_ALLOWLISTED', checks, problems, warnings);
}

function result(
  allowed: boolean,
  reason: ReasonCode,
  checks: ImageCheck[],
  problems: ImageCheck[],
  warnings: string[],
): Decision {
  const outcome = !allowed ? 'denied' : warnings.length > 0 ? 'warned' : 'admitted';
  return { allowed, outcome, reason, checks, problems, warnings };
}
