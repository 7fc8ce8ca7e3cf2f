import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

export interface RegistryUser {
  username: string;
  password: string;
}

export interface RegistryOptions {
  /** htpasswd (bcrypt) basic auth with these users. */
  users?: RegistryUser[];
  /** Distribution token auth: the registry trusts tokens signed by this certificate. */
  token?: { realm: string; service: string; issuer: string; rootCertPem: string };
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: use it as the registry part of image references. */
  host: string;
  stop(): Promise<void>;
}

function registryBinary(): string {
  const candidates = [process.env.DOCKER_REGISTRY_BIN, '/usr/bin/docker-registry'];
  const found = candidates.find((c): c is string => Boolean(c && existsSync(c)));
  return found ?? 'docker-registry';
}

function config(dir: string, options: RegistryOptions): string {
  const lines = [
    'version: 0.1',
    'log: { level: info }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, 'data'))} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:0", secret: "test-${process.pid}" }`,
  ];
  if (options.users) {
    const file = join(dir, 'htpasswd');
    writeFileSync(
      file,
      options.users.map((u) => `${u.username}:${bcrypt.hashSync(u.password, 4)}\n`).join(''),
    );
    lines.push(`auth: { htpasswd: { realm: test-registry, path: ${JSON.stringify(file)} } }`);
  } else if (options.token) {
    const bundle = join(dir, 'token-root.pem');
    writeFileSync(bundle, options.token.rootCertPem);
    const { realm, service, issuer } = options.token;
    lines.push(
      `auth: { token: { realm: ${JSON.stringify(realm)}, service: ${service}, issuer: ${issuer}, rootcertbundle: ${JSON.stringify(bundle)} } }`,
    );
  }
  const path = join(dir, 'config.yml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * Starts Debian's docker-registry (distribution 2.8) on a random loopback port with a
 * temporary storage folder; `stop()` ends that process and removes the folder.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'rw-registry-'));
  const child: ChildProcess = spawn(registryBinary(), ['serve', config(dir, options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const host = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`docker-registry did not start:\n${output}`)),
      10_000,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) =>
      fail(
        new Error(
          `cannot run docker-registry (run scripts/ensure-test-tools.sh): ${error.message}`,
        ),
      ),
    );
    child.once('exit', (code) =>
      fail(new Error(`docker-registry exited with ${code}:\n${output}`)),
    );
  });
  // Request logs keep coming: keep draining the pipes so the registry never blocks on them.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    host,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The registry's own clock, from the `Date` header of a throwaway registry. Go reads the
 * real time even when `faketime` moves Node's, so tokens and certificates a registry checks
 * are dated by this, not by `Date.now()`.
 */
export async function registryNow(): Promise<Date> {
  const registry = await startRegistry();
  try {
    const response = await fetch(`http://${registry.host}/v2/`);
    await response.arrayBuffer();
    const date = response.headers.get('date');
    if (!date) throw new Error('docker-registry sent no Date header');
    return new Date(date);
  } finally {
    await registry.stop();
  }
}
