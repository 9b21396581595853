import { ConfigError, describeListenError } from '@rgw/config';
import { createLogger } from '@rgw/observability';
import { loadWorkerConfig, type WorkerConfig } from './worker-config.ts';
import { type StartedWorker, startWorker } from './start-worker.ts';

// `--load-only`: every module is loaded (imports run first), then the process exits. The image build
// runs it once with NODE_COMPILE_CACHE set, so the app starts with its TypeScript already stripped and
// compiled, and Node never loads its type stripper (about 20 MB of RSS, docs/operations.md).
if (process.argv.includes('--load-only')) process.exit(0);

/** `npm run start:worker`: refreshes the shared model list for every gateway replica. */
let config: WorkerConfig;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 78 : 1); // EX_CONFIG
}
const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
let worker: StartedWorker;
try {
  worker = await startWorker({ config, logger });
} catch (error) {
  // Found only once Redis answers (REDIS_URL at a Redis Cluster node): as much a config error as a bad variable.
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  // One line saying what to change (a busy WORKER_PORT, a bad WORKER_HOST), never a stack trace.
  const listen = describeListenError(error, { port: config.WORKER_PORT, host: config.WORKER_HOST, portVariable: 'WORKER_PORT', hostVariable: 'WORKER_HOST' });
  process.stderr.write(`worker: ${listen ?? `could not start: ${error instanceof Error ? error.message : String(error)}`}\n`);
  logger.debug({ err: error }, 'start-up failed');
  process.exit(listen === null ? 1 : 78);
}
logger.info({ port: worker.port, refreshSeconds: config.MODELS_REFRESH_SECONDS }, 'worker listening');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    worker
      .close()
      .then(() => {
        logger.info('worker stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'worker shutdown failed');
        process.exit(1);
      });
  });
}
