// Output formats (-o), shared by cli/ and the webhook image's command (cluster/command.ts).
import { type Command, Option } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { CliFailure, type CliIo } from './io';

/** `-o` as kubectl and cosign spell it. */
export type OutputFormat = 'json' | 'yaml' | 'text';

export interface OutputFlags {
  output: OutputFormat;
  /** The pre-0.2 spelling of `-o json`, on the commands that had it. */
  json?: boolean;
}

interface OutputOptions {
  default: OutputFormat;
  formats?: readonly OutputFormat[];
  /** Keep `--json` as a deprecated alias (the command had it before `-o`). */
  jsonAlias?: boolean;
}

/** Adds `-o, --output <format>` (and, where the command had it, `--json`). */
export function withOutput(command: Command, options: OutputOptions): Command {
  const formats = options.formats ?? ['text', 'json', 'yaml'];
  command.addOption(
    new Option('-o, --output <format>', 'output format').choices(formats).default(options.default),
  );
  if (options.jsonAlias) {
    command.option('--json', 'same as -o json (deprecated: removed in the release after 0.2)');
  }
  return command;
}

/** The format asked for; `--json` counts as `-o json`, with a notice on stderr. */
export function formatOf(flags: OutputFlags, io: CliIo, command: Command): OutputFormat {
  if (!flags.json) return flags.output;
  if (command.getOptionValueSource('output') === 'cli' && flags.output !== 'json') {
    throw new CliFailure(`--json and -o ${flags.output} contradict each other; give one`, 2);
  }
  io.err('note: --json is deprecated and will be removed in the next release; use -o json');
  return 'json';
}

/** One document: JSON (2-space), YAML, or the command's own text. */
export function renderOne(format: OutputFormat, data: unknown, text: () => string): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return stringify(data).trimEnd();
  return text();
}

/**
 * A list, one item at a time: JSON Lines (one object per line, so it can stream and
 * `jq` reads it), a YAML stream (`---` between documents), or a text line per item.
 */
export function renderEach<T>(format: OutputFormat, item: T, text: (item: T) => string): string {
  if (format === 'json') return JSON.stringify(item);
  if (format === 'yaml') return `---\n${stringify(item).trimEnd()}`;
  return text(item);
}

/**
 * Kubernetes manifests, generated as YAML: as they are, or as JSON (one object, or a
 * `v1 List` of several, as `kubectl get -o json` prints them).
 */
export function renderManifests(format: OutputFormat, yamlText: string): string {
  if (format !== 'json') return yamlText;
  const objects = parseAllDocuments(yamlText).map((doc) => doc.toJS() as unknown);
  const data =
    objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  return JSON.stringify(data, null, 2);
}
