import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real cosign, oras and skopeo (Debian 13), fetched into .peers/ by scripts/ensure-peers.sh. */
export type PeerTool = 'cosign' | 'oras' | 'skopeo';

const BIN = join(__dirname, '..', '..', '.peers', 'bin');

export interface PeerRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A peer that reaches for the network (cosign's TUF refresh when a flag is missing) hits a
 * closed loopback port and fails at once, instead of looking sigstore's hosts up.
 */
const OFFLINE = {
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: '127.0.0.1,localhost',
};

/** A trusted root with nothing in it: keyed verification offline (`--trusted-root`). */
export const EMPTY_TRUSTED_ROOT =
  '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}\n';

/** cosign's flags for a plain-HTTP registry on loopback. */
export const COSIGN_LOOPBACK = ['--allow-http-registry', '--allow-insecure-registry'];

/**
 * A working folder (keys, predicates, policies) and a HOME of its own for the peers, so
 * nothing reads or writes the user's ~/.sigstore or ~/.docker.
 */
export class Peers {
  readonly dir = mkdtempSync(join(tmpdir(), 'rw-peers-'));
  private readonly home = join(this.dir, 'home');

  constructor() {
    for (const tool of ['cosign', 'oras', 'skopeo'] as const) {
      if (!existsSync(join(BIN, tool)))
        throw new Error(`${join(BIN, tool)} is missing: run bash scripts/ensure-peers.sh`);
    }
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, content: string | Buffer): string {
    const path = this.path(name);
    writeFileSync(path, content);
    return path;
  }

  /** Runs a peer; never throws for a non-zero exit (the tests assert on it). */
  run(tool: PeerTool, args: string[], env: NodeJS.ProcessEnv = {}): Promise<PeerRun> {
    return new Promise((resolve, reject) => {
      execFile(
        join(BIN, tool),
        args,
        {
          cwd: this.dir,
          env: {
            ...realClockEnv(),
            ...OFFLINE,
            HOME: this.home,
            DOCKER_CONFIG: join(this.home, '.docker'),
            ...env,
          },
          timeout: 30_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') {
            reject(new Error(`${tool} ${args.join(' ')}: ${error.message}\n${stderr}`));
            return;
          }
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        },
      );
    });
  }

  /** `cosign generate-key-pair` without a password: returns the paths of NAME.key and NAME.pub. */
  async cosignKeys(name: string): Promise<{ key: string; pub: string }> {
    await this.ok('cosign', ['generate-key-pair', '--output-key-prefix', name], {
      COSIGN_PASSWORD: '',
    });
    return { key: this.path(`${name}.key`), pub: this.path(`${name}.pub`) };
  }

  /** `skopeo generate-sigstore-key`: returns the private key, its passphrase file and NAME.pub. */
  async skopeoKeys(name: string): Promise<{ key: string; passphrase: string; pub: string }> {
    const passphrase = this.write(`${name}.passphrase`, `${name}-passphrase`);
    await this.ok('skopeo', [
      'generate-sigstore-key',
      '--output-prefix',
      name,
      '--passphrase-file',
      passphrase,
    ]);
    return { key: this.path(`${name}.private`), passphrase, pub: this.path(`${name}.pub`) };
  }

  /** skopeo config for a loopback registry: sigstore signatures as cosign stores them. */
  skopeoConfig(host: string): string[] {
    const registriesD = this.path('registries.d');
    mkdirSync(registriesD, { recursive: true });
    writeFileSync(
      join(registriesD, `${host.replace(/[^a-z0-9]/gi, '_')}.yaml`),
      `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`,
    );
    const policy = this.write(
      'skopeo-policy.json',
      '{"default":[{"type":"insecureAcceptAnything"}]}',
    );
    return ['--registries.d', registriesD, '--policy', policy];
  }

  /** Runs and fails the test with the peer's output when it exits non-zero. */
  async ok(tool: PeerTool, args: string[], env: NodeJS.ProcessEnv = {}): Promise<PeerRun> {
    const result = await this.run(tool, args, env);
    if (result.code !== 0) {
      throw new Error(
        `${tool} ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`,
      );
    }
    return result;
  }

  stop(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The child's clock is the machine's: the second CI run moves Node's clock with faketime
 * (LD_PRELOAD); the peers are Go programs run through Debian 13's loader, kept out of it.
 */
function realClockEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('FAKETIME') || name === 'LD_PRELOAD') continue;
    env[name] = value;
  }
  return env;
}
