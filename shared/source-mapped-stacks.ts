import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Stack traces in the original files, lines and names, with the source maps read when a
 * trace is first formatted instead of at load. `--enable-source-maps` reads and parses the
 * map of every file a function loads before its first line runs: 10-20 ms of each cold
 * start (docs/deploy.md, Decisions). Here a cold start only installs this formatter; the
 * first `error.stack` of a container reads the maps of the files in that trace (tens of ms,
 * once). Imported first by every handler (functions/<name>/handler.ts).
 *
 * The format is V8's (`    at name (file:line:column)`), with the original position and
 * name where the map has one, as Node prints them with `--enable-source-maps`. A frame
 * without a map, or a map that cannot be read, keeps V8's own text.
 */

/** What V8 gives `Error.prepareStackTrace`; the enclosing-position methods are V8's too. */
type Site = NodeJS.CallSite & {
  getEnclosingLineNumber?: () => number | null;
  getEnclosingColumnNumber?: () => number | null;
};

const maps = new Map<string, { map: SourceMap; url: string } | null>();

/** The map beside a file (`x.mjs.map`, as esbuild and tsc write them), parsed once. */
function mapOf(file: string): { map: SourceMap; url: string } | null {
  const known = maps.get(file);
  if (known !== undefined) return known;
  let found: { map: SourceMap; url: string } | null = null;
  try {
    const path = file.startsWith('file:') ? fileURLToPath(file) : file;
    const url = pathToFileURL(`${path}.map`).href;
    found = { map: new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))), url };
  } catch {
    found = null;
  }
  maps.set(file, found);
  return found;
}

interface Entry {
  originalSource?: string;
  originalLine?: number;
  originalColumn?: number;
  name?: string;
}

function entryAt(map: SourceMap, line: number | null, column: number | null): Entry {
  if (line === null || column === null) return {};
  return map.findEntry(line - 1, column - 1) as Entry;
}

/** A source as a person reads it: a path for file URLs (the map's sources are relative to it). */
function sourcePath(source: string, mapUrl: string): string {
  const url = new URL(source, mapUrl);
  return url.protocol === 'file:' ? fileURLToPath(url) : url.href;
}

function frame(site: Site, caller: Site | undefined): string {
  const file = site.getFileName();
  const found = file ? mapOf(file) : null;
  if (!found) return `    at ${site}`;
  const at = entryAt(found.map, site.getLineNumber(), site.getColumnNumber());
  if (at.originalSource === undefined || at.originalLine === undefined) return `    at ${site}`;
  // The function's original name: the map's name at the enclosing function, else at the
  // call site that called into it (Node's rule).
  const enclosing = entryAt(
    found.map,
    site.getEnclosingLineNumber?.() ?? null,
    site.getEnclosingColumnNumber?.() ?? null,
  );
  const callerName =
    caller && caller.getFileName() === file
      ? entryAt(found.map, caller.getLineNumber(), caller.getColumnNumber()).name
      : undefined;
  // As Node names a mapped frame: the map's name, else V8's `Type.function`.
  const typeName = site.getTypeName();
  const own = `${typeName !== null && typeName !== 'global' ? `${typeName}.` : ''}${site.getFunctionName() ?? site.getMethodName() ?? '<anonymous>'}`;
  const name = enclosing.name ?? callerName ?? own;
  return `    at ${name} (${sourcePath(at.originalSource, found.url)}:${at.originalLine + 1}:${(at.originalColumn ?? 0) + 1})`;
}

function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return 'Error';
  }
}

/** The formatter V8 calls for `error.stack`; never throws (a failure keeps V8's text). */
function sourceMappedStack(error: Error, sites: NodeJS.CallSite[]): string {
  const lines = sites.map((site, i) => {
    try {
      return frame(site as Site, sites[i + 1] as Site | undefined);
    } catch {
      return `    at ${site}`;
    }
  });
  return [header(error), ...lines].join('\n');
}

// Node's own source-mapping formatter, when someone turned it on (--enable-source-maps, also
// through NODE_OPTIONS), stays in charge, and so does a formatter someone installed (a test
// runner's). Node 20+ exposes V8's default as Error.prepareStackTrace, by this name.
const current = Error.prepareStackTrace;
if (
  !process.sourceMapsEnabled &&
  (current === undefined || current.name === 'ErrorPrepareStackTrace')
) {
  Error.prepareStackTrace = sourceMappedStack;
}
