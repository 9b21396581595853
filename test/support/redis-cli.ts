import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `redis-cli -h 127.0.0.1 -p <port> <args…>`, stdout trimmed. The harnesses use it for setup and checks (never the code under test). */
export async function redisCli(port: number, args: readonly string[], options: { password?: string; timeoutMs?: number } = {}): Promise<string> {
  const auth = options.password === undefined ? [] : ['--no-auth-warning', '-a', options.password];
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { timeout: options.timeoutMs ?? 10_000 });
  return stdout.trim();
}

/** Polls `check` every 50 ms until it is true; throws naming `what` after `timeoutMs`. For harness setup, not for tests' assertions. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
