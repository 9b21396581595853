import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';

/** A real Redis for tests (never a mock). */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Stop for good (SIGTERM, or the container's stop). */
  stop(): Promise<void>;
  /** SIGKILL: Redis vanishes mid-conversation, as in a crash. */
  kill(): Promise<void>;
  /** Start again on the same port, empty (no persistence). */
  restart(): Promise<void>;
  /** SIGSTOP: Redis hangs (connections stay open, nothing answers). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** The redis-server process (a `process`-mode Redis; undefined for a container or while stopped). */
  child(): ChildProcess | undefined;
}

export interface StartRedisOptions {
  /**
   * 'auto' (default): testcontainers' Redis when a Docker engine answers, else a `redis-server`
   * child. 'process': always the child; fault tests use it (kill/restart on the same port and
   * SIGSTOP are simple only with a local process).
   */
  mode?: 'auto' | 'process';
}

const children = new Set<ChildProcess>();
// A test run that dies half-way must not leave redis-servers behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  if ((options.mode ?? 'auto') === 'auto' && (await dockerAnswers())) return startContainerRedis();
  return startProcessRedis();
}

async function startProcessRedis(): Promise<TestRedis> {
  const binary = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (binary.error !== undefined) {
    throw new Error('redis-server is not on PATH and no Docker engine answers: run `apt-get install redis-server`');
  }
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; attempt < 5 && child === undefined; attempt += 1) {
    port = await findFreePort();
    child = await spawnRedis(port).catch(() => undefined); // the port was taken in between: pick another
  }
  if (child === undefined) throw new Error('could not start redis-server on a free port');
  let current: ChildProcess | undefined = child;

  const killCurrent = async (signal: NodeJS.Signals) => {
    const running = current;
    current = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGCONT'); // a paused process would not act on SIGTERM
    const exited = once(running, 'exit');
    running.kill(signal);
    await exited;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => killCurrent('SIGTERM'),
    kill: () => killCurrent('SIGKILL'),
    async restart() {
      await killCurrent('SIGKILL');
      // The kernel may hold the port for a moment after the kill; retry briefly.
      for (let attempt = 0; ; attempt += 1) {
        try {
          current = await spawnRedis(port);
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    pause: () => void current?.kill('SIGSTOP'),
    resume: () => void current?.kill('SIGCONT'),
    child: () => current,
  };
}

function spawnRedis(port: number): Promise<ChildProcess> {
  return spawnRedisServer(port, ['--port', String(port), '--bind', '127.0.0.1', ...TEST_SERVER_ARGS]);
}

/**
 * What every test redis-server runs with: no persistence, `noeviction` (as production should), and
 * replicas synced at once (Redis waits 5 s by default before a diskless sync, to batch replicas).
 */
export const TEST_SERVER_ARGS: readonly string[] = ['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0'];

/**
 * Spawns `redis-server <args>` and resolves once the server on `port` answers and is this child
 * (`INFO server` gives its process id). The identity check matters on a shared machine: another
 * test run may take the port between findFreePort() and the spawn, and a test must never send
 * FLUSHALL or REPLICAOF to somebody else's Redis. Killed with the test process. The cluster,
 * Sentinel and TLS harnesses start their servers through this.
 */
export async function spawnRedisServer(port: number, args: readonly string[], connection: ProbeConnection = {}): Promise<ChildProcess> {
  // A working directory of its own: a replica writes the RDB its master sends it there (and Sentinel
  // its state), never into the checkout the tests run from.
  const dir = mkdtempSync(join(tmpdir(), `rgw-redis-${port}-`));
  const child = spawn('redis-server', [...args, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => {
    children.delete(child);
    rmSync(dir, { recursive: true, force: true });
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2_000);
  });
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited on port ${port}: ${output}`);
    if (child.pid !== undefined && (await isRedisProcess(port, child.pid, connection))) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 5 s: ${output}`);
}

/** How to reach a server being started: TLS options for a TLS-only port, a password for `requirepass`. */
export interface ProbeConnection {
  readonly tls?: ConnectionOptions;
  readonly password?: string;
}

/** True when the Redis answering on `port` is process `pid`. */
export function isRedisProcess(port: number, pid: number, connection: ProbeConnection = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connection.tls === undefined ? createConnection({ host: '127.0.0.1', port }) : connectTls({ host: '127.0.0.1', port, ...connection.tls });
    let reply = '';
    const finish = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(500);
    socket.once(connection.tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.write(`${connection.password === undefined ? '' : `AUTH ${connection.password}\r\n`}INFO server\r\n`);
    });
    socket.on('data', (data: Buffer) => {
      reply += data.toString();
      const found = /process_id:(\d+)/.exec(reply);
      if (found !== null) finish(Number(found[1]) === pid);
      else if (/^-|\r\n-/.test(reply) && !reply.startsWith('+OK')) finish(false);
    });
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}

/**
 * Start a server on free ports, retrying with new ones when a port was taken between findFreePort()
 * and the bind (other test runs on the machine pick ports too). `ports` free ports are passed.
 */
export async function spawnOnFreePorts<T>(ports: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const picked = await Promise.all(Array.from({ length: ports }, () => findFreePort()));
    try {
      return await start(picked);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/** Stops a child redis-server (also a paused one) and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT'); // a paused process would not act on SIGTERM
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** testcontainers rejects in ~0.3 s without a runtime; bound it anyway so a wedged socket cannot hang the suite. */
async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 3_000).unref());
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  }
}

async function startContainerRedis(): Promise<TestRedis> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start();
  const unsupported = (what: string) => () => {
    throw new Error(`${what} needs startRedis({ mode: 'process' })`);
  };
  return {
    url: container.getConnectionUrl(),
    port: container.getPort(),
    stop: async () => {
      await container.stop();
    },
    kill: async () => unsupported('kill')(),
    restart: async () => unsupported('restart')(),
    pause: unsupported('pause'),
    resume: unsupported('resume'),
    child: () => undefined,
  };
}
