/**
 * Spawns the real worker (`node apps/worker/src/main.ts`) for end-to-end tests and resolves once it
 * logs `"worker listening"` with its port (WORKER_PORT=0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface StartedWorkerProcess {
  readonly url: string;
  readonly process: ChildProcess;
  /** stdout and stderr lines, in order. */
  readonly logs: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export async function startWorkerProcess(env: Readonly<Record<string, string>>): Promise<StartedWorkerProcess> {
  const child = spawn(process.execPath, ['apps/worker/src/main.ts'], {
    cwd: repositoryRoot,
    // A minimal base: the parent's REDIS_* must not leak into the worker.
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', WORKER_PORT: '0', WORKER_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const logs: string[] = [];
  let pending = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 20 s:\n${logs.join('\n')}`)), 20_000);
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      logs.push(...lines);
      for (const line of lines) {
        if (!line.includes('"worker listening"')) continue;
        clearTimeout(timer);
        resolve(Number((JSON.parse(line) as { port: number }).port));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${String(code)}) before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
