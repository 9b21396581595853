import { ConfigError, describeListenError, type GatewayConfig, loadConfig } from '@rgw/config';
import { createLogger } from '@rgw/observability';
import { type RunningGateway, startGateway } from './start-gateway.ts';

// `--load-only`: every module is loaded (imports run first), then the process exits. The image build
// runs it once with NODE_COMPILE_CACHE set, so the app starts with its TypeScript already stripped and
// compiled, and Node never loads its type stripper (about 20 MB of RSS, docs/operations.md).
if (process.argv.includes('--load-only')) process.exit(0);

// The only place that reads the environment and owns the process.
let config: GatewayConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
const logger = createLogger({ level: config.LOG_LEVEL, name: 'gateway' });
let gateway: RunningGateway;
try {
  gateway = await startGateway({ config, logger });
} catch (error) {
  // Found only once Redis answers (REDIS_URL at a Redis Cluster node): as much a config error as a bad variable.
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  // One line saying what to change (a busy port, a bad HOST), never a stack trace.
  const listen = describeListenError(error, { port: config.PORT, host: config.HOST, portVariable: 'PORT', hostVariable: 'HOST' });
  process.stderr.write(`gateway: ${listen ?? `could not start: ${error instanceof Error ? error.message : String(error)}`}\n`);
  logger.debug({ err: error }, 'start-up failed');
  process.exit(listen === null ? 1 : 78);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: draining in-flight requests');
  await gateway.stop(config.SHUTDOWN_GRACE_SECONDS * 1000);
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
