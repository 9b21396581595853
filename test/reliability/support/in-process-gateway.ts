/**
 * The real gateway (`startGateway` from apps/gateway, with `loadConfig` over an env) in the test's
 * own process: starts in ~50 ms instead of ~1 s for a child process, and lets tests read its log
 * lines, heap and handles directly. Tests about signals and process exit spawn `main.ts` instead
 * (test/support/start-gateway.ts).
 */
import { Writable } from 'node:stream';
import { vi } from 'vitest';
import { loadConfig } from '@rgw/config';
import { createLogger } from '@rgw/observability';
import { startGateway, type RunningGateway } from '../../../apps/gateway/src/start-gateway.ts';

export interface InProcessGateway {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly baseURL: string;
  readonly port: number;
  readonly running: RunningGateway;
  /** Every log line written so far (pino JSON). */
  readonly logs: string[];
  stop(graceMs?: number): Promise<void>;
}

export async function startInProcessGateway(
  env: Readonly<Record<string, string>>,
  options: { readonly waitForModels?: boolean } = {},
): Promise<InProcessGateway> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(line);
      callback();
    },
  });
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'gateway', destination });
  const running = await startGateway({ config, logger, reasoningKey: 'a-test-reasoning-key-of-at-least-32-chars' });
  const url = `http://127.0.0.1:${running.port}`;
  // The model list is fetched in the background; until it is, every model counts as unknown.
  if (options.waitForModels !== false) {
    await waitFor(
      async () => {
        const ready = (await (await fetch(`${url}/ready`)).json()) as { models?: number | null };
        return typeof ready.models === 'number' && ready.models > 0;
      },
      5_000,
      'the model list',
    );
  }
  return { url, baseURL: `${url}/v1`, port: running.port, running, logs, stop: (graceMs = 1_000) => running.stop(graceMs) };
}

/** Waits (vi.waitFor, every 10 ms) until `condition` holds; for states with no event to await (a socket count, a log line). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error(`${what} not met within ${timeoutMs} ms`);
    },
    { timeout: timeoutMs, interval: 10 },
  );
}
