/**
 * The processes a benchmark run measures: the fast backend, the bare proxy, gateways and a
 * redis-server, each a child process so its CPU and memory can be read from /proc on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/src/gateway-node-flags.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly origin: string;
  /** Recent stderr lines, for diagnosing a process that died. */
  readonly stderr: string[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; default the repository. Another checkout runs another build (A/B runs). */
  readonly cwd?: string;
  /** `taskset -c` CPU list, e.g. "1"; undefined = let the scheduler place it. */
  readonly cpus?: string | undefined;
}

/**
 * Every hop runs as its production start does: from a warm compile cache (scripts/node24.mjs sets the
 * same directory for `npm start`), so none of them carries Node's type stripper in its RSS.
 */
const COMPILE_CACHE = process.env['NODE_COMPILE_CACHE'] ?? `${repositoryRoot}node_modules/.cache/node-compile-cache`;

/** Fills the compile cache for every script the bench starts, before anything is measured. */
export async function warmCompileCache(): Promise<void> {
  const env = { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE };
  const runs = [
    spawn(process.execPath, [...GATEWAY_NODE_FLAGS, 'apps/gateway/src/main.ts', '--load-only'], { cwd: repositoryRoot, env, stdio: 'inherit' }),
    // Imported, not run: both start a server only as the main module.
    spawn(process.execPath, ['--input-type=module', '-e', "await import('./test/bench/bare-proxy.ts'); await import('./test/bench/fast-backend.ts');"], {
      cwd: repositoryRoot,
      env,
      stdio: 'inherit',
    }),
  ];
  const codes = await Promise.all(runs.map(async (run) => ((await once(run, 'exit')) as [number | null])[0]));
  if (codes.some((code) => code !== 0)) throw new Error(`warming the compile cache failed (exit codes ${codes.join(', ')})`);
}

function spawnPinned(command: string, args: readonly string[], options: SpawnOptions, stdout: 'pipe' | 'ignore'): ChildProcess {
  const env = { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE, ...options.env };
  // taskset execs the command: the child's pid is the measured process's pid.
  const child =
    options.cpus === undefined
      ? spawn(command, args, { cwd: options.cwd ?? repositoryRoot, env, stdio: ['ignore', stdout, 'pipe'] })
      : spawn('taskset', ['-c', options.cpus, command, ...args], { cwd: options.cwd ?? repositoryRoot, env, stdio: ['ignore', stdout, 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function collectStderr(child: ChildProcess): string[] {
  const lines: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    lines.push(...text.split('\n').filter(Boolean));
    if (lines.length > 50) lines.splice(0, lines.length - 50);
  });
  return lines;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/** Starts one of the bench's own scripts, which print `{"port":N}` once listening. */
export async function startBenchScript(name: string, script: string, options: SpawnOptions = {}): Promise<BenchProcess> {
  const child = spawnPinned(process.execPath, [script], options, 'pipe');
  const stderr = collectStderr(child);
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (text: string) => {
      buffered += text;
      const match = /\{"port":(\d+)\}/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr.join('\n')}`)));
  });
  return { name, pid: child.pid!, port, origin: `http://127.0.0.1:${port}`, stderr, stop: stopper(child) };
}

export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface GatewayProcessOptions extends SpawnOptions {
  readonly name: string;
  readonly upstreamBaseUrl: string;
  readonly redisUrl?: string | undefined;
  readonly logLevel: string;
  /** Node flags besides GATEWAY_NODE_FLAGS (e.g. --heapsnapshot-signal for the memory breakdown). */
  readonly nodeFlags?: readonly string[];
}

/**
 * `node apps/gateway/src/main.ts` on a port picked here (the "listening" line is logged at info,
 * and the bench may run the gateway at warn). Its stdout (the access log) goes to /dev/null: the
 * gateway still serialises and writes every line. Ready once /ready answers 200 with the models loaded.
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<BenchProcess> {
  const port = await findFreePort();
  const env: Record<string, string> = {
    ...options.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel,
    UPSTREAM_BASE_URL: options.upstreamBaseUrl,
    REASONING_ENCRYPTION_KEY: 'b'.repeat(64),
  };
  if (options.redisUrl) env['REDIS_URL'] = options.redisUrl;
  const child = spawnPinned(process.execPath, [...GATEWAY_NODE_FLAGS, ...(options.nodeFlags ?? []), 'apps/gateway/src/main.ts'], { ...options, env }, 'ignore');
  const stderr = collectStderr(child);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}: ${stderr.join('\n')}`);
    const ready = await fetch(`${origin}/ready`)
      .then(async (response) => (response.ok ? ((await response.json()) as { models?: unknown; detail?: { models?: unknown } }) : null))
      .catch(() => null);
    const models = ready?.detail?.models ?? ready?.models;
    if (typeof models === 'number' && models > 0) break;
    if (Date.now() > deadline) throw new Error(`${options.name} did not become ready: ${stderr.join('\n')}`);
    await sleep(100);
  }
  return { name: options.name, pid: child.pid!, port, origin, stderr, stop: stopper(child) };
}

export async function startRedisProcess(options: SpawnOptions = {}): Promise<BenchProcess & { readonly url: string }> {
  const port = await findFreePort();
  const child = spawnPinned('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], options, 'ignore');
  const stderr = collectStderr(child);
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start: ${stderr.join('\n')}`);
    await sleep(50);
  }
  return { name: 'redis', pid: child.pid!, port, origin: `redis://127.0.0.1:${port}`, url: `redis://127.0.0.1:${port}`, stderr, stop: stopper(child) };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

/** User + system CPU seconds the process (all its threads) has used so far. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size now, bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** CPU seconds a group of processes used while `work` ran. */
export async function measureCpu<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const before = pids.map(readCpuSeconds);
  const result = await work();
  const cpuSeconds = pids.reduce((total, pid, index) => total + readCpuSeconds(pid) - (before[index] ?? 0), 0);
  return { result, cpuSeconds };
}

/** Samples RSS every `intervalMs` while `work` runs; returns the peak. */
export async function measurePeakRss<T>(
  pid: number,
  work: () => Promise<T>,
  intervalMs = 100,
): Promise<{ result: T; peakRssBytes: number; startRssBytes: number }> {
  const startRssBytes = readRssBytes(pid);
  let peakRssBytes = startRssBytes;
  const timer = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, readRssBytes(pid));
  }, intervalMs);
  try {
    const result = await work();
    peakRssBytes = Math.max(peakRssBytes, readRssBytes(pid));
    return { result, peakRssBytes, startRssBytes };
  } finally {
    clearInterval(timer);
  }
}
