/**
 * A CDK app as a user writes it: the construct comes from the installed package, by name
 * (test/infra/package.test.ts packs and installs it), and cdk-nag fails the synth on any
 * finding nobody acknowledged.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isRegistryWatcherError, RegistryWatcher } from 'registry-watcher-cdk';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Platform');
try {
  const watcher = new RegistryWatcher(stack, 'Watcher', {
    repositories: ['prod/*', 'team/api'],
    policyFile: 'policy.yaml',
    slackWebhookSecret: 'platform/registry-watcher-slack',
  });
  // The cluster's webhook reads the allowlist as this role (IRSA in a real cluster).
  const reader = new iam.Role(stack, 'AllowlistReader', {
    assumedBy: new iam.AccountPrincipal(stack.account),
  });
  watcher.grantReadAllowlist(reader);
} catch (error) {
  if (!isRegistryWatcherError(error)) throw error;
  console.error(`registry-watcher: ${error.code}\n${error.message}`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
