const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Inspector's EventBridge events write times as "Mar 14, 2023, 7:46:29 PM" (UTC, no zone).
// Inspector's current form is Java's Date#toString: "Wed Sep 04 16:55:38.411 UTC 2024".
const JAVA_TIME =
  /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,3})? (?:UTC|GMT) (\d{4})$/;
const INSPECTOR_TIME =
  /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))? ?(AM|PM)(?: UTC)?$/;

/**
 * Reads any timestamp AWS hands us: a Date (SDK), epoch seconds (JSON wire protocol),
 * an ISO 8601 string, or Inspector's human-readable form. Returns undefined when unparseable.
 */
export function parseTimestamp(value: unknown): Date | undefined {
  const date = parseAny(value);
  // Out-of-range numbers and dates make Invalid Date, which throws on toISOString().
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function parseAny(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return Number.isFinite(value) ? new Date(value * 1000) : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const java = JAVA_TIME.exec(text);
  if (java) return fromJavaTime(java);
  const human = INSPECTOR_TIME.exec(text);
  if (human) return fromInspectorTime(human);
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function fromInspectorTime(m: RegExpExecArray): Date | undefined {
  const [, mon, day, year, hour, minute, second, ampm] = m;
  const month = MONTHS.indexOf(mon ?? '');
  if (month < 0) return undefined;
  let h = Number(hour) % 12;
  if (ampm === 'PM') h += 12;
  const ms = Date.UTC(Number(year), month, Number(day), h, Number(minute), Number(second ?? 0));
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function fromJavaTime(m: RegExpExecArray): Date | undefined {
  const [, mon, day, hour, minute, second, fraction, year] = m;
  const month = MONTHS.indexOf(mon ?? '');
  if (month < 0) return undefined;
  const ms = Math.round(Number(fraction ?? 0) * 1000);
  return new Date(
    Date.UTC(Number(year), month, Number(day), Number(hour), Number(minute), Number(second), ms),
  );
}

export function toIso(value: unknown): string | undefined {
  return parseTimestamp(value)?.toISOString();
}
