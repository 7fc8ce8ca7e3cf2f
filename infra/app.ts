/**
 * The CDK app of cdk.json: `npm run synth` writes cdk.out/ offline, with no credentials
 * (an environment-agnostic stack unless account and region are set). Settings come from
 * the `registry-watcher` context (docs/deploy.md); cdk-nag's AwsSolutions checks run on
 * every synth and fail it on an unacknowledged finding.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isRegistryWatcherError } from '../shared/domain/errors';
import { readAppSettings, removalPolicyOf } from './app-config';
import { RegistryWatcherStack } from './stack';

export function buildApp(app: App): RegistryWatcherStack {
  const settings = readAppSettings(app.node);
  const removalPolicy = removalPolicyOf(settings.removalPolicy);
  const stack = new RegistryWatcherStack(app, settings.stackName, {
    description:
      'registry-watcher: judges ECR images against a policy and publishes a signed allowlist',
    ...(settings.account &&
      settings.region && {
        env: { account: settings.account, region: settings.region },
      }),
    ...(settings.allowlistKeyArn && { allowlistKeyArn: settings.allowlistKeyArn }),
    ...(settings.attestationKeyArn && { attestationKeyArn: settings.attestationKeyArn }),
    ...(settings.keyAdministratorArn && { keyAdministratorArn: settings.keyAdministratorArn }),
    ...(settings.accessLogsBucket && { accessLogsBucketName: settings.accessLogsBucket }),
    watcher: {
      ...(settings.repositories && { repositories: settings.repositories }),
      ...(settings.scanningMode && { scanningMode: settings.scanningMode }),
      ...(settings.policyFile && { policyFile: settings.policyFile }),
      ...(settings.rescanSchedule && { rescanSchedule: settings.rescanSchedule }),
      ...(settings.rescanTimeZone && { rescanTimeZone: settings.rescanTimeZone }),
      ...(settings.slackWebhookSecret && { slackWebhookSecret: settings.slackWebhookSecret }),
      ...(settings.alarmEmail && { alarmEmail: settings.alarmEmail }),
      ...(settings.allowlistValidity && { allowlistValidity: settings.allowlistValidity }),
      ...(settings.allowlistNotAdmitted !== undefined && {
        allowlistNotAdmitted: settings.allowlistNotAdmitted,
      }),
      ...(removalPolicy && { removalPolicy }),
      ...(settings.deletionProtection !== undefined && {
        deletionProtection: settings.deletionProtection,
      }),
      ...(settings.evaluateMaxConcurrency !== undefined && {
        evaluateMaxConcurrency: settings.evaluateMaxConcurrency,
      }),
      ...(settings.logRetentionDays !== undefined && { logRetention: settings.logRetentionDays }),
      ...(settings.attestations !== undefined && { attestations: settings.attestations }),
      ...(settings.trustedRoot && { trustedRoot: settings.trustedRoot }),
      ...(settings.knownExploitedCatalog && {
        knownExploitedCatalog: settings.knownExploitedCatalog,
      }),
      ...(settings.knownExploitedRefresh && {
        knownExploitedRefresh: settings.knownExploitedRefresh,
      }),
    },
  });
  Tags.of(stack).add('app', 'registry-watcher');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

if (require.main === module) {
  const app = new App({ autoSynth: false });
  try {
    buildApp(app);
    app.synth();
  } catch (error) {
    // A bad policy or bad settings: the message says where and what; no stack trace.
    if (!isRegistryWatcherError(error)) throw error;
    console.error(`registry-watcher: ${error.code}\n${error.message}`);
    process.exitCode = 1;
  }
}
