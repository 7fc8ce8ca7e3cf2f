import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { WatcherFunction } from '../../infra/watcher-function';
import { testApp } from './support';

/**
 * The policy reaches a function as text rendered at synth (policy.json), not as a copied
 * file: the asset's hash must still follow it, so a changed policy is a new asset and a
 * deploy ships it. Several stacks in one process also share CDK's bundling cache, which is
 * keyed on the bundling options: the text must be part of that key.
 */
function assetOf(policyJson: string): string {
  // Real bundling (local esbuild), unlike the other infra tests.
  const app = testApp({ 'aws:cdk:bundling-stacks': ['**'] });
  const stack = new Stack(app, 'S');
  new WatcherFunction(stack, 'Fn', {
    name: 'notify',
    description: 'policy asset test',
    environmentSchema: z.object({}),
    environment: {},
    files: { 'policy.json': { text: policyJson } },
    timeout: Duration.seconds(10),
    logRetention: RetentionDays.ONE_DAY,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return (fn as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key;
}

describe('the policy in a function asset', () => {
  const a = '{"apiVersion":"registry-watcher.io/v1","kind":"Policy"}';
  const b =
    '{"apiVersion":"registry-watcher.io/v1","defaults":{"unscanned":"warn"},"kind":"Policy"}';

  it('GIVEN the same rendered policy THEN the same asset; GIVEN another THEN another asset', () => {
    const first = assetOf(a);
    expect(assetOf(a)).toBe(first);
    expect(assetOf(b)).not.toBe(first);
  }, 120_000);
});
