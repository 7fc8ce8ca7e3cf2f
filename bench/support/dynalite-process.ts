import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClient } from '../../shared/adapters/aws/clients';
import { createVerdictTable } from '../../shared/adapters/aws/create-verdict-table';
import { documentClient } from '../../shared/adapters/aws/dynamodb-verdict-store';
import type { LocalDynamo } from '../../test/support/dynalite';

const SERVER = `
const server = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.keepAliveTimeout = 10 * 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

/**
 * The keep-alive timeout is long for the reason test/support/dynalite.ts gives: a client
 * busy building 100,000 items for seconds must not find its idle sockets closed unseen.
 *
 * dynalite in its own process: DynamoDB is a remote service, so its work should not share
 * the event loop of the handlers and pollers being timed.
 */
/** The server's CPU seconds so far (user + system, from /proc; undefined elsewhere). */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export async function startDynaliteProcess(): Promise<
  LocalDynamo & { serverCpuSeconds(): number | undefined }
> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /port (\d+)/.exec(String(chunk));
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`dynalite exited ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = awsClient(DynamoDBClient, {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let tables = 0;
  return {
    endpoint,
    client,
    documents: documentClient(client),
    async newTable(prefix = 'verdicts') {
      tables += 1;
      const name = `${prefix}-${tables}`;
      await createVerdictTable(client, name);
      return name;
    },
    serverCpuSeconds: () => cpuSecondsOf(child.pid),
    async stop() {
      client.destroy();
      child.kill('SIGKILL');
    },
  };
}
