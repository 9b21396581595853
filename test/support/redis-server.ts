import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';

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
  };
}

function spawnRedis(port: number): Promise<ChildProcess> {
  return spawnRedisServer(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction']);
}

/**
 * Spawns `redis-server <args>` and resolves once `answers(port)` (PING on the plain port by default)
 * says it is up. Killed with the test process. The cluster, Sentinel and TLS harnesses start their
 * servers through this.
 */
export async function spawnRedisServer(
  port: number,
  args: readonly string[],
  answers: (port: number) => Promise<boolean> = answersPing,
): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2_000);
  });
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited on port ${port}: ${output}`);
    if (await answers(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on port ${port} within 5 s: ${output}`);
}

export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
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
  };
}
