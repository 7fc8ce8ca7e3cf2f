import type { CliIo } from '../io';

export interface LocalRunOptions {
  dataDir: string;
  io: CliIo;
}

export async function runLocal(options: LocalRunOptions): Promise<void> {
  options.io.out(`local run in ${options.dataDir}: not assembled yet`);
}
