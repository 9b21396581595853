/**
 * Spawns the real gateway (`node apps/gateway/src/main.ts`) as a child process for end-to-end tests
 * and resolves once it logs `"gateway listening"` with the port it picked (PORT=0), or, given a
 * `port`, once `GET /ready` answers 200 there (at any LOG_LEVEL: the cluster script's way).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/src/gateway-node-flags.ts';

export interface StartGatewayOptions {
  /**
   * Gateway environment on top of a minimal base (PATH, HOME): at least `UPSTREAM_BASE_URL`.
   * `PORT` (0), `HOST` (127.0.0.1) and `LOG_LEVEL` (info) are defaulted; without `port` the listening
   * line is what is waited for, and it is logged at info, so a `LOG_LEVEL` above info needs `port`.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory; the repository root by default. */
  readonly cwd?: string;
  /** Milliseconds to wait for the listening line; default 20 000. */
  readonly startTimeoutMs?: number;
  /**
   * Listen on this port and wait for `GET /ready` to answer 200 instead of reading the log: works at
   * every LOG_LEVEL. Rejects if the gateway exits first (e.g. the port was taken in between).
   */
  readonly port?: number;
  /** Each line the gateway writes, as it comes (the cluster script prints them with a prefix). */
  readonly onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface StartedGateway {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `url + '/v1'`, what OpenAI clients take as `baseURL`. */
  readonly baseURL: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Captured stdout lines (pino JSON), in order; keeps growing while the gateway runs. */
  readonly logs: string[];
  /** Captured stderr lines. */
  readonly errors: string[];
  /** Parsed JSON log records (lines that are not JSON are skipped). */
  readonly logRecords: () => Record<string, unknown>[];
  /** Sends `signal` (SIGTERM by default), waits for exit (SIGKILL after 10 s); resolves with the exit code or signal. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | NodeJS.Signals | null>;
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Splits a stream into lines, calling `onLine` for each complete one. */
function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
  });
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function startGateway(options: StartGatewayOptions): Promise<StartedGateway> {
  const env: Record<string, string> = {};
  // A minimal base: the parent's REDIS_URL, UPSTREAM_* or OPENAI_* must not leak into the gateway.
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  for (const [key, value] of Object.entries(options.env)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  if (options.port !== undefined) Object.assign(env, { PORT: String(options.port), HOST: '127.0.0.1' });
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, 'apps/gateway/src/main.ts'], {
    cwd: options.cwd ?? repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the test worker dies without calling stop(), do not leave a gateway behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const logs: string[] = [];
  const errors: string[] = [];
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      resolve(code ?? signal);
    });
  });

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return exited;
  }

  return new Promise<StartedGateway>((resolve, reject) => {
    let settled = false;
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void stop('SIGKILL');
      reject(new Error(`gateway did not log "gateway listening" within ${timeoutMs} ms\nstdout:\n${logs.join('\n')}\nstderr:\n${errors.join('\n')}`));
    }, timeoutMs);

    const started = (port: number): void => {
      settled = true;
      clearTimeout(timer);
      const url = `http://127.0.0.1:${port}`;
      resolve({
        url,
        baseURL: `${url}/v1`,
        port,
        process: child,
        logs,
        errors,
        logRecords: () => logs.map(parseRecord).filter((entry) => entry !== undefined),
        stop,
      });
    };
    readLines(child.stderr!, (line) => {
      errors.push(line);
      options.onLine?.('stderr', line);
    });
    readLines(child.stdout!, (line) => {
      logs.push(line);
      options.onLine?.('stdout', line);
      if (settled || options.port !== undefined) return;
      const record = parseRecord(line);
      if (record?.['msg'] !== 'gateway listening' || typeof record['port'] !== 'number') return;
      started(record['port']);
    });
    if (options.port !== undefined) {
      const port = options.port;
      const poll = async (): Promise<void> => {
        while (!settled && child.exitCode === null && child.signalCode === null) {
          const ready = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1_000) }).then(
            (response) => response.status === 200,
            () => false,
          );
          if (ready && !settled) {
            started(port);
            return;
          }
          await new Promise((resolveWait) => setTimeout(resolveWait, 50));
        }
      };
      void poll();
    }
    void exited.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Give the stderr pipe a moment to drain so the reason is in the message.
      setTimeout(() => {
        reject(new Error(`gateway exited (${String(code)}) before listening\nstderr:\n${errors.join('\n')}\nstdout:\n${logs.join('\n')}`));
      }, 50);
    });
  });
}
