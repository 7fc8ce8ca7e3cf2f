// Where explain, search and what-if read: the deployed table or the one npm start leaves.
import type { Command } from 'commander';
import { type QuestionPorts, withQuestions } from '../shared/composition/questions';
import { CliFailure } from './io';
import { LOCAL_TABLE, startLocalDynalite } from './local/local-table';

export interface TableFlags {
  table?: string;
  region?: string;
  local?: boolean;
  data: string;
  wholeTable?: boolean;
}

export function withTableFlags(command: Command): Command {
  return command
    .option('--table <name>', 'verdict table (default: $TABLE_NAME; the stack output TableName)')
    .option('--region <region>', 'AWS region of the table (default: the SDK’s)')
    .option('--local', 'read the table npm start leaves (dynalite under --data), not AWS')
    .option('--data <dir>', 'npm start’s data folder, with --local', '.local')
    .option(
      '--whole-table',
      'search and what-if: scan the whole table, not its fleet index (until the first nightly run after the deploy that added the index)',
    );
}

/** Opens the table the flags name, runs `use` with its ports, and always closes it. */
export async function withQuestionPorts<T>(
  flags: TableFlags,
  use: (ports: QuestionPorts) => Promise<T>,
): Promise<T> {
  const source = flags.wholeTable ? { source: 'table' as const } : {};
  if (flags.local) {
    if (flags.table) throw new CliFailure('--local and --table contradict each other; give one', 2);
    const local = await startLocalDynalite(flags.data);
    try {
      const where = `${local.path} (npm start)`;
      return await withQuestions(
        { tableName: LOCAL_TABLE, endpoint: local.endpoint, where, ...source },
        use,
      );
    } finally {
      await local.close();
    }
  }
  const tableName = flags.table ?? process.env.TABLE_NAME;
  if (!tableName) {
    throw new CliFailure(
      'name the verdict table with --table (or TABLE_NAME), or pass --local for the table npm start leaves',
      2,
    );
  }
  return withQuestions(
    { tableName, ...(flags.region && { region: flags.region }), ...source },
    use,
  );
}
