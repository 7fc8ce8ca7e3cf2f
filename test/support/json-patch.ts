/**
 * RFC 6902 `test` and `replace` applied to a JSON document, as the API server applies a
 * webhook's JSONPatch: every operation or none (a failed `test` rejects the whole patch).
 * Written from the RFCs for the tests, independently of the webhook's pointer builder.
 */
export class PatchFailedError extends Error {}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchFailedError(`bad pointer ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, pointer: string): [Record<string, unknown>, string] {
  const path = tokens(pointer);
  const last = path.pop();
  if (last === undefined) throw new PatchFailedError('cannot patch the root');
  let node = doc;
  for (const token of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, token)) {
      throw new PatchFailedError(`${pointer}: no ${token}`);
    }
    node = (node as Record<string, unknown>)[token];
  }
  if (typeof node !== 'object' || node === null || !Object.hasOwn(node, last)) {
    throw new PatchFailedError(`${pointer}: nothing to replace`);
  }
  return [node as Record<string, unknown>, last];
}

export function applyJsonPatch<T>(doc: T, patch: unknown): T {
  if (!Array.isArray(patch)) throw new PatchFailedError('a patch is an array');
  const copy = structuredClone(doc);
  for (const op of patch as { op: string; path: string; value: unknown }[]) {
    const [parent, key] = parentOf(copy, op.path);
    if (op.op === 'test') {
      if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) {
        throw new PatchFailedError(`test failed at ${op.path}`);
      }
    } else if (op.op === 'replace') {
      parent[key] = op.value;
    } else {
      throw new PatchFailedError(`unexpected op ${op.op}`);
    }
  }
  return copy;
}
