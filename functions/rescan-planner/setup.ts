import type { RescanSettings } from '../../shared/composition/rescan-planner';
import { loadPolicy } from '../../shared/config';
import { ConfigError } from '../../shared/domain/errors';
import { ecrRegistry } from '../../shared/domain/image-ref';
import type { RescanEnvironment } from './environment';

/** The account of a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>). */
export function accountOf(functionArn: string): string {
  const account = functionArn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) {
    throw new ConfigError(
      `cannot read the account from function ARN "${functionArn}"; set REGISTRIES`,
    );
  }
  return account;
}

/** Settings from the validated environment; no REGISTRIES means this account's, in this region. */
export function settingsFromEnvironment(
  env: RescanEnvironment,
  functionArn: string,
): RescanSettings {
  return {
    tableName: env.TABLE_NAME,
    evaluateQueueUrl: env.EVALUATE_QUEUE_URL,
    continuationQueueUrl: env.CONTINUATION_QUEUE_URL,
    policy: loadPolicy(env),
    scanning: env.SCANNING_MODE,
    registries:
      env.REGISTRIES.length > 0
        ? env.REGISTRIES
        : [ecrRegistry(accountOf(functionArn), env.AWS_REGION)],
    repositories: env.REPOSITORIES,
    rates: env.RATE_LIMITS,
    segments: env.TABLE_SCAN_SEGMENTS,
    renewAheadMs: env.SCAN_RENEW_AHEAD,
    maxScansPerRun: env.MAX_SCANS_PER_RUN,
    scanSettleSeconds: env.SCAN_SETTLE_SECONDS,
    reserveMs: env.RESERVE_SECONDS * 1000,
    maxRunAgeMs: env.MAX_RUN_AGE,
    ...(env.VERDICT_TOPIC_ARN && { verdictTopicArn: env.VERDICT_TOPIC_ARN }),
  };
}
