import {
  type RescanSettings,
  settingsOfEnvironment,
} from '../../shared/composition/rescan-planner';
import { loadPolicy } from '../../shared/config';
import { ConfigError } from '../../shared/domain/errors';
import { ecrRegistry } from '../../shared/domain/image-ref';
import type { RescanEnvironment } from '../../shared/rescan-environment';

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
  return settingsOfEnvironment(env, {
    policy: loadPolicy(env),
    registries:
      env.REGISTRIES.length > 0
        ? env.REGISTRIES
        : [ecrRegistry(accountOf(functionArn), env.AWS_REGION)],
  });
}
