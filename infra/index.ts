/**
 * The entry point of the `registry-watcher-cdk` package (construct/package.json): the
 * construct, its stack, their props, and the errors a bad prop or policy throws at synth.
 * docs/deploy.md "As a package" shows how a CDK app adds it.
 */

export {
  ConfigError,
  type ErrorCode,
  isRegistryWatcherError,
  PolicyError,
  type PolicyIssue,
  RegistryWatcherError,
} from '../shared/domain/errors';
export type { Policy } from '../shared/domain/policy';
export type { WatcherAlarms } from './alarms';
export {
  DEFAULT_POLICY_FILE,
  type RegistryWatcherProps,
  type ResolvedProps,
  type WatchedRepository,
} from './props';
export { RegistryWatcher } from './registry-watcher';
export { publicKeyCommand, RegistryWatcherStack, type RegistryWatcherStackProps } from './stack';
export type { AnyWatcherFunction } from './watcher-function';
