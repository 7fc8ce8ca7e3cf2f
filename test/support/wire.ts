/** Timestamp fields of the ECR API that the SDK turns into Dates. */
const TIMESTAMP_FIELDS = new Set([
  'imagePushedAt',
  'lastRecordedPullTime',
  'imageScanCompletedAt',
  'vulnerabilitySourceUpdatedAt',
  'firstObservedAt',
  'lastObservedAt',
  'updatedAt',
  'vendorCreatedAt',
  'vendorUpdatedAt',
  'lastArchivedAt',
  'lastActivatedAt',
]);

/**
 * What the SDK returns for a wire-format fixture: epoch seconds become Dates, as its
 * deserializer does. aws-sdk-client-mock skips the deserializer, so tests convert.
 */
export function sdkShape<T>(wire: unknown): T {
  const convert = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => convert(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, k)]));
    }
    if (key && TIMESTAMP_FIELDS.has(key) && typeof value === 'number')
      return new Date(value * 1000);
    return value;
  };
  return convert(wire) as T;
}
