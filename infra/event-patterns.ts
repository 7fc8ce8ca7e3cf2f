import type * as events from 'aws-cdk-lib/aws-events';
import { Match } from 'aws-cdk-lib/aws-events';
import type { WatchedRepository } from './props';

/**
 * The EventBridge patterns of DESIGN §3, narrowed to the watched repositories (no filter
 * when every repository is watched). Events only say what to look at, so the rules match
 * broadly and let the evaluation decide.
 */
export function eventPatterns(watched: readonly WatchedRepository[]) {
  const all = watched.length === 0;
  const byName = (field: string) => (all ? {} : { [field]: watched.flatMap(nameMatcher) });
  // Inspector2 Scan names the repository by ARN: arn:aws:ecr:<region>:<account>:repository/<name>.
  const byArn = all
    ? {}
    : {
        'repository-name': watched.flatMap((w) =>
          'name' in w
            ? Match.wildcard(`*:repository/${w.name}`)
            : Match.wildcard(`*:repository/${w.prefix}*`),
        ),
      };
  return {
    /** Pushes (and deletions: a deleted digest must leave the allowlist now, not tonight). */
    imageAction: {
      source: ['aws.ecr'],
      detailType: ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH', 'DELETE'],
        result: ['SUCCESS'],
        ...byName('repository-name'),
      },
    },
    /** Basic scanning finished: findings are ready. */
    imageScan: {
      source: ['aws.ecr'],
      detailType: ['ECR Image Scan'],
      detail: { 'scan-status': ['COMPLETE'], ...byName('repository-name') },
    },
    /** Enhanced scanning: the initial scan of an image finished. */
    inspectorScan: {
      source: ['aws.inspector2'],
      detailType: ['Inspector2 Scan'],
      detail: byArn,
    },
    /** Enhanced scanning: a finding was created, updated or closed (continuous rescans). */
    inspectorFinding: {
      source: ['aws.inspector2'],
      detailType: ['Inspector2 Finding'],
      detail: {
        resources: {
          type: ['AWS_ECR_CONTAINER_IMAGE'],
          ...(all ? {} : { details: { awsEcrContainerImage: byName('repositoryName') } }),
        },
      },
    },
  } satisfies Record<string, events.EventPattern>;
}

function nameMatcher(watched: WatchedRepository): string[] {
  return 'name' in watched ? [watched.name] : Match.prefix(watched.prefix);
}
