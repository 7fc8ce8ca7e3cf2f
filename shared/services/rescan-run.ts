import { StoreConflictError } from '../domain/errors';
import { emptyTotals, type RescanTotals, subtractTotals } from '../domain/rescan';
import { silentLog, systemClock } from '../ports';
import type { RescanCheckpoint, RescanCheckpoints, RescanContinuation } from '../ports/rescan';
import { type PlanProgress, planRescan, type RescanPlannerOptions } from './rescan-planner';

export interface RescanRunSummary {
  runId: string;
  startedAt: string;
  completedAt: string;
  invocations: number;
  totals: RescanTotals;
}

export interface RescanRunOptions extends RescanPlannerOptions {
  checkpoints: RescanCheckpoints;
  /** Asks for the next invocation when this one runs out of time; without it the caller loops. */
  continuation?: RescanContinuation;
  /**
   * Called once everything is planned, before the run is marked complete: if it throws,
   * the invocation fails and its retry calls it again (the daily digest goes out at least once).
   */
  onRunComplete?: (summary: RescanRunSummary) => Promise<void>;
  /** Who works on the run (the Lambda request id). */
  owner: string;
  /** The nightly start abandons a run older than this instead of resuming it. */
  maxRunAgeMs?: number;
  /** Lease length when the invocation has no deadline (the CLI). */
  leaseMs?: number;
}

export type RescanTrigger = { kind: 'start' } | { kind: 'continue'; runId: string };

export interface RescanInvocation {
  /** `busy`: another invocation holds the run; `stale`: a continuation for a run that is over. */
  outcome: 'completed' | 'continued' | 'busy' | 'stale';
  runId?: string;
  /** The run's figures so far, and this invocation's share of them. */
  totals?: RescanTotals;
  delta?: RescanTotals;
}

/**
 * One invocation of the planner's run lifecycle: start a run (or resume an unfinished
 * one), plan until done or out of time, checkpoint, and either ask for a continuation or
 * report the finished run. A lease on the checkpoint keeps two invocations off one run.
 */
export async function runRescan(
  trigger: RescanTrigger,
  options: RescanRunOptions,
): Promise<RescanInvocation> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const { checkpoints, owner } = options;
  const now = clock();
  const stored = await checkpoints.load();
  const current = stored?.checkpoint;
  const running = current?.status === 'running' ? current : undefined;
  const leased =
    running?.leaseUntil !== undefined &&
    running.owner !== owner &&
    Date.parse(running.leaseUntil) > now.getTime();

  let checkpoint: RescanCheckpoint;
  if (trigger.kind === 'continue') {
    if (!running || running.runId !== trigger.runId)
      return { outcome: 'stale', runId: trigger.runId };
    if (leased) return { outcome: 'busy', runId: running.runId };
    checkpoint = running;
  } else if (running && leased) {
    return { outcome: 'busy', runId: running.runId };
  } else if (
    running &&
    now.getTime() - Date.parse(running.startedAt) < (options.maxRunAgeMs ?? 20 * 3_600_000)
  ) {
    log.info('resuming an unfinished rescan run', { runId: running.runId, cursor: running.cursor });
    checkpoint = running;
  } else {
    if (running) log.warn('abandoning a rescan run that never finished', { runId: running.runId });
    checkpoint = {
      runId: `rescan-${now.toISOString()}`,
      status: 'running',
      startedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      totals: emptyTotals(),
      invocations: 0,
    };
  }

  const lease = () => {
    const left = options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
    const ms = Number.isFinite(left) ? left + 60_000 : (options.leaseMs ?? 600_000);
    return new Date(clock().getTime() + ms).toISOString();
  };
  let version = stored?.version ?? 0;
  const write = async (next: RescanCheckpoint) => {
    version = await checkpoints.save(next, version);
    checkpoint = next;
  };
  try {
    await write({
      ...checkpoint,
      invocations: checkpoint.invocations + 1,
      owner,
      leaseUntil: lease(),
      updatedAt: now.toISOString(),
    });
  } catch (error) {
    if (error instanceof StoreConflictError) return { outcome: 'busy', runId: checkpoint.runId };
    throw error;
  }

  const before = checkpoint.totals;
  const progress = (p: PlanProgress): RescanCheckpoint => {
    const { cursor: _old, ...rest } = checkpoint;
    return {
      ...rest,
      ...(p.cursor && { cursor: p.cursor }),
      totals: p.totals,
      updatedAt: clock().toISOString(),
    };
  };
  const result = await planRescan(
    { totals: checkpoint.totals, ...(checkpoint.cursor && { cursor: checkpoint.cursor }) },
    options,
    (p) => write({ ...progress(p), leaseUntil: lease() }),
  );
  const report = (outcome: RescanInvocation['outcome']): RescanInvocation => ({
    outcome,
    runId: checkpoint.runId,
    totals: result.totals,
    delta: subtractTotals(result.totals, before),
  });

  if (!result.finished) {
    await write(released(progress(result)));
    if (options.continuation) await options.continuation.request(checkpoint.runId);
    log.info('rescan run continues in the next invocation', {
      runId: checkpoint.runId,
      cursor: result.cursor,
    });
    return report('continued');
  }
  await write({ ...progress(result), leaseUntil: lease() });
  const completedAt = clock().toISOString();
  await options.onRunComplete?.({
    runId: checkpoint.runId,
    startedAt: checkpoint.startedAt,
    completedAt,
    invocations: checkpoint.invocations,
    totals: result.totals,
  });
  await write({ ...released(checkpoint), status: 'complete', completedAt });
  log.info('rescan run complete', { runId: checkpoint.runId, ...result.totals });
  return report('completed');
}

function released(checkpoint: RescanCheckpoint): RescanCheckpoint {
  const { owner: _owner, leaseUntil: _lease, ...rest } = checkpoint;
  return rest;
}
