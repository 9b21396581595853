/**
 * Runs the real Caddy (Debian's `caddy` package) on the shipped deploy/caddy/Caddyfile for tests:
 * free ports for HTTP and HTTPS, the admin endpoint off, and its data and config (the local CA, the
 * certificates) in a temporary directory, never the user's or the system's. Certificates for names
 * such as `localhost` come from Caddy's local CA, whose root the test trusts explicitly; nothing is
 * installed in any trust store (`skip_install_trust` in the Caddyfile).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch } from 'undici';
import { findFreePort } from './redis-server.ts';

export const shippedCaddyfile = fileURLToPath(new URL('../../deploy/caddy/Caddyfile', import.meta.url));

export interface StartCaddyOptions {
  /** Caddyfile to run; the shipped one by default. */
  readonly caddyfile?: string;
  /** The Caddyfile's variables (GATEWAY_DOMAIN, GATEWAY_SCHEME, GATEWAY_DNS_RESOLVER, …); ports and admin are set here. */
  readonly env: Readonly<Record<string, string>>;
  /** Milliseconds to wait for Caddy to serve /caddy-health; default 20 000. */
  readonly startTimeoutMs?: number;
}

export interface StartedCaddy {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** PEM of the local CA's root (HTTPS mode only). */
  readonly rootCertificate: string | undefined;
  /** An undici dispatcher that trusts only that root; throws in plain-HTTP mode. */
  trustingAgent(): Agent;
  /** Caddy's log lines (stdout and stderr), in order. */
  readonly logs: string[];
  /** The JSON ones, parsed. */
  readonly logRecords: () => Record<string, unknown>[];
  /** SIGTERM (Caddy drains for its grace period), SIGKILL after `graceMs`; removes the temporary directory. */
  stop(graceMs?: number): Promise<void>;
}

export function hasCaddy(): boolean {
  return spawnSync('caddy', ['version'], { encoding: 'utf8' }).status === 0;
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function startCaddy(options: StartCaddyOptions): Promise<StartedCaddy> {
  const home = mkdtempSync(join(tmpdir(), 'rgw-caddy-'));
  const [httpPort, httpsPort] = [await findFreePort(), await findFreePort()];
  const https = (options.env['GATEWAY_SCHEME'] ?? 'https') === 'https';
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    CADDY_HTTP_PORT: String(httpPort),
    CADDY_HTTPS_PORT: String(httpsPort),
    CADDY_ADMIN: 'off',
    ...options.env,
  };
  const child = spawn('caddy', ['run', '--config', options.caddyfile ?? shippedCaddyfile, '--adapter', 'caddyfile'], {
    cwd: home,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = once(child, 'exit');
  void exited.then(() => process.removeListener('exit', killOnExit));
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      logs.push(...lines);
    });
  }

  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };

  const rootPath = join(env['XDG_DATA_HOME'] ?? '', 'caddy/pki/authorities/local/root.crt');
  let rootCertificate: string | undefined;
  let trustingAgent: Agent | undefined;
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`caddy exited (${child.exitCode}):\n${logs.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`caddy did not serve /caddy-health in time:\n${logs.join('\n')}`);
      if (https && trustingAgent === undefined && existsSync(rootPath)) {
        rootCertificate = readFileSync(rootPath, 'utf8');
        trustingAgent = new Agent({ connect: { ca: rootCertificate } });
      }
      const url = https ? `https://localhost:${httpsPort}/caddy-health` : `http://localhost:${httpPort}/caddy-health`;
      if (!https || trustingAgent !== undefined) {
        const response = await undiciFetch(url, trustingAgent === undefined ? {} : { dispatcher: trustingAgent }).catch(() => undefined);
        if (response?.status === 200) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await trustingAgent?.close();
    await stop(0);
    throw error;
  }

  return {
    httpPort,
    httpsPort,
    rootCertificate,
    trustingAgent() {
      if (trustingAgent === undefined) throw new Error('this Caddy serves plain HTTP: there is no local CA to trust');
      return trustingAgent;
    },
    logs,
    logRecords: () => logs.map(parseRecord).filter((record) => record !== undefined),
    async stop(graceMs) {
      await trustingAgent?.close();
      await stop(graceMs);
    },
  };
}
