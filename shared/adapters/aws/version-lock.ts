/**
 * Optimistic locking on a `version` attribute: version 0 means the item must not exist yet,
 * any other means the stored item must still carry that version.
 */
export function versionCondition(expectedVersion: number): {
  ConditionExpression: string;
  ExpressionAttributeValues?: Record<string, number>;
} {
  return expectedVersion === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      };
}

/** DynamoDB refused a write because its condition did not hold (by name: SDK copies differ). */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}
