import { parseEcrRegistry } from '../../domain/image-ref';

/** The link a person clicks to see the digest in the ECR console; undefined for other registries. */
export function ecrConsoleUrl(
  registry: string,
  repository: string,
  digest: string,
): string | undefined {
  const ecr = parseEcrRegistry(registry);
  if (!ecr) return undefined;
  return `https://${ecr.region}.console.aws.amazon.com/ecr/repositories/private/${ecr.accountId}/${repository}/_/image/${digest}/details?region=${ecr.region}`;
}
