import { Logger } from '@aws-lambda-powertools/logger';

/** Every function's logger (Powertools, JSON to CloudWatch): one service, the message first. */
export function watcherLogger(): Logger {
  return new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
}
