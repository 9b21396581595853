/**
 * Runs the gateway as a cluster on one machine, without Docker: Redis + N gateway replicas +
 * the worker + nginx in front. For local use and for the cluster tests.
 *
 *   node scripts/cluster-local.ts --replicas 3 --port 8080 [--upstream https://llm.chutes.ai/v1] [--redis-url redis://…]
 *
 * Another Redis mode: set its variables in the environment instead of --redis-url (REDIS_CLUSTER_NODES,
 * or REDIS_SENTINELS + REDIS_SENTINEL_MASTER, REDIS_TLS*, REDIS_PASSWORD…); they reach every process.
 * No REASONING_ENCRYPTION_KEY is needed: the replicas agree on one through Redis (set one to choose it).
 *
 * Then point any OpenAI client at http://127.0.0.1:8080/v1. Ctrl-C stops everything.
 * Needs `redis-server` and `nginx` on PATH or in /usr/sbin (Debian: apt-get install redis-server nginx-light).
 * Every other gateway variable (CIRCUIT_BREAKER_*, MODELS_REFRESH_SECONDS, LOG_LEVEL…) is passed through from the environment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findFreePort, startRedis, type TestRedis } from '../test/support/redis-server.ts';
import { startGateway, type StartedGateway } from '../test/support/start-gateway.ts';

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const nginxSnippets = join(repositoryRoot, 'deploy/nginx');

export interface LocalClusterOptions {
  /** Gateway replicas to start (default 2). */
  replicas?: number;
  /** nginx's port on 127.0.0.1 (default 0: a free port). */
  port?: number;
  /** The backend, e.g. a scripted backend in tests. */
  upstreamBaseUrl: string;
  /** Use this Redis instead of starting a redis-server child. */
  redisUrl?: string;
  /** Or these Redis variables (any mode: REDIS_CLUSTER_NODES, REDIS_SENTINELS…), for replicas and worker alike. */
  redisEnv?: Readonly<Record<string, string>>;
  /** Start the worker (default true). */
  worker?: boolean;
  /** Extra environment for every replica (CIRCUIT_BREAKER_*, MODELS_REFRESH_SECONDS...). */
  gatewayEnv?: Readonly<Record<string, string | undefined>>;
  /** Extra environment for the worker. */
  workerEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Run the gateway from another checkout (a directory with `apps/gateway/src/main.ts`), e.g. to
   * compare two versions. Default: env RGW_CLUSTER_GATEWAY_CWD, else this repository.
   */
  gatewayCwd?: string;
}

export interface WorkerProcess {
  readonly process: ChildProcess;
  readonly port: number;
  readonly logs: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LocalCluster {
  /** nginx: `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `url + '/v1'`, for OpenAI clients. */
  readonly baseURL: string;
  readonly redisUrl: string;
  /** The Redis child (null when `redisUrl` or `redisEnv` was given). */
  readonly redis: TestRedis | null;
  /** Running replicas, in start order (stopped ones are removed). */
  readonly replicas: StartedGateway[];
  worker: WorkerProcess | null;
  /** nginx access-log lines (format `gateway` from deploy/nginx/gateway-http.conf: has `upstream=<addr>`). */
  accessLog(): string[];
  /** Start one more replica and put it behind nginx (config rewritten, nginx reloaded). */
  addReplica(): Promise<StartedGateway>;
  startWorker(): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const nginxBinary = findBinary('nginx');
  const workDir = mkdtempSync(join(tmpdir(), 'rgw-cluster-'));
  const stoppers: (() => Promise<unknown>)[] = [];
  try {
    const redis = options.redisUrl === undefined && options.redisEnv === undefined ? await startRedis({ mode: 'process' }) : null;
    const redisUrl = options.redisUrl ?? redis?.url ?? '';
    if (redis !== null) stoppers.push(() => redis.stop());
    const redisEnv = options.redisEnv ?? { REDIS_URL: redisUrl };
    // No REASONING_ENCRYPTION_KEY: the replicas agree on one through Redis (gatewayEnv may set one).
    const sharedEnv = {
      UPSTREAM_BASE_URL: options.upstreamBaseUrl,
      ...redisEnv,
      ...options.gatewayEnv,
    };
    const replicas: StartedGateway[] = [];
    const addReplica = async () => {
      const gatewayCwd = options.gatewayCwd ?? process.env['RGW_CLUSTER_GATEWAY_CWD'];
      const replica = await startGateway({ env: sharedEnv, ...(gatewayCwd === undefined ? {} : { cwd: gatewayCwd }) });
      replicas.push(replica);
      replica.process.once('exit', () => {
        const index = replicas.indexOf(replica);
        if (index !== -1) replicas.splice(index, 1);
      });
      return replica;
    };
    await Promise.all(Array.from({ length: options.replicas ?? 2 }, addReplica));
    stoppers.push(() => Promise.all(replicas.map((replica) => replica.stop())));

    let worker: WorkerProcess | null = null;
    const startWorker = async () => {
      worker = await startWorkerProcess({ ...redisEnv, UPSTREAM_BASE_URL: options.upstreamBaseUrl, ...options.workerEnv });
      return worker;
    };
    if (options.worker ?? true) await startWorker();
    stoppers.push(async () => worker?.stop());

    const port = options.port === undefined || options.port === 0 ? await findFreePort() : options.port;
    const configPath = join(workDir, 'nginx.conf');
    // Ports of every replica ever started: a stopped replica stays listed, so nginx's retry to the next one is exercised.
    const upstreamPorts = replicas.map((replica) => replica.port);
    writeFileSync(configPath, renderLocalNginxConfig(workDir, port, upstreamPorts));
    const nginx = spawn(nginxBinary, ['-p', workDir, '-c', configPath, '-e', join(workDir, 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let nginxErrors = '';
    nginx.stderr.on('data', (chunk: Buffer) => (nginxErrors += chunk.toString()));
    process.once('exit', () => nginx.kill('SIGKILL'));
    stoppers.push(async () => {
      if (nginx.exitCode !== null) return;
      const exited = once(nginx, 'exit');
      nginx.kill('SIGQUIT'); // graceful: lets open streams finish
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      nginx.kill('SIGKILL');
    });
    await waitFor(async () => {
      if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxErrors}${readIfExists(join(workDir, 'error.log'))}`);
      return (await fetch(`http://127.0.0.1:${port}/nginx-health`).catch(() => null))?.ok === true;
    }, 10_000);

    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      baseURL: `${url}/v1`,
      redisUrl,
      redis,
      replicas,
      get worker() {
        return worker;
      },
      set worker(value) {
        worker = value;
      },
      accessLog: () =>
        readIfExists(join(workDir, 'access.log'))
          .split('\n')
          .filter((line) => line !== ''),
      async addReplica() {
        const replica = await addReplica();
        upstreamPorts.push(replica.port);
        writeFileSync(configPath, renderLocalNginxConfig(workDir, port, upstreamPorts));
        nginx.kill('SIGHUP'); // reload: new workers use the new upstream list, old ones finish their streams
        await new Promise((resolve) => setTimeout(resolve, 300));
        return replica;
      },
      startWorker,
      async stop() {
        for (const stopper of stoppers.splice(0).reverse()) await stopper().catch(() => undefined);
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** nginx config for replicas on known local ports. Shares its proxy settings with deploy/nginx/nginx.conf. */
export function renderLocalNginxConfig(workDir: string, port: number, replicaPorts: readonly number[]): string {
  const servers = replicaPorts.map((replicaPort) => `        server 127.0.0.1:${replicaPort} max_fails=1 fail_timeout=5s;`).join('\n');
  return `# Generated by scripts/cluster-local.ts
worker_processes 1;
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log warn;
events { worker_connections 1024; }
http {
    include ${nginxSnippets}/gateway-http.conf;
    access_log ${workDir}/access.log gateway;
    client_body_temp_path ${workDir}/client_body;
    proxy_temp_path ${workDir}/proxy;
    fastcgi_temp_path ${workDir}/fastcgi;
    uwsgi_temp_path ${workDir}/uwsgi;
    scgi_temp_path ${workDir}/scgi;

    upstream gateway {
${servers}
        keepalive 32;
    }

    server {
        listen 127.0.0.1:${port};
        location = /metrics { return 404; }
        location = /nginx-health { access_log off; return 200 "ok\\n"; }
        location / {
            proxy_pass http://gateway;
            include ${nginxSnippets}/gateway-proxy.conf;
        }
    }
}
`;
}

async function startWorkerProcess(env: Readonly<Record<string, string | undefined>>): Promise<WorkerProcess> {
  const childEnv: Record<string, string> = { PATH: process.env['PATH'] ?? '', WORKER_PORT: '0', WORKER_HOST: '127.0.0.1' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const child = spawn(process.execPath, ['apps/worker/src/main.ts'], { cwd: repositoryRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // Until the child has exited, the script's own exit (even mid-stop) takes it down too.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const logs: string[] = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    logs.push(...lines);
  });
  child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  let port = 0;
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`worker exited:\n${logs.join('\n')}`);
    for (const line of logs) {
      if (!line.includes('"worker listening"')) continue;
      port = Number((JSON.parse(line) as { port: number }).port);
      return true;
    }
    return false;
  }, 20_000);
  return {
    process: child,
    port,
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

function findBinary(name: string): string {
  for (const candidate of [`/usr/sbin/${name}`, `/usr/local/sbin/${name}`, `/usr/local/bin/${name}`, `/usr/bin/${name}`]) {
    if (existsSync(candidate)) return candidate;
  }
  if (spawnSync(name, ['-v']).error === undefined) return name;
  throw new Error(`${name} not found: apt-get install ${name === 'nginx' ? 'nginx-light' : name}`);
}

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- CLI -----------------------------------------------------------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '2' },
      port: { type: 'string', default: '8080' },
      upstream: { type: 'string', default: process.env['UPSTREAM_BASE_URL'] ?? 'https://llm.chutes.ai/v1' },
      'redis-url': { type: 'string' },
      'no-worker': { type: 'boolean', default: false },
    },
  });
  // Pass the operator's gateway settings through; not PORT/HOST/REDIS_URL/UPSTREAM_BASE_URL: the script assigns those.
  const settings = /^(UPSTREAM_(?!BASE_URL$)|CIRCUIT_BREAKER_|MODELS_|MAX_|SHUTDOWN_|RESPONSE|REASONING_|CORS_|METRICS_|RATE_LIMIT_|SERVER_|LOG_LEVEL$)/;
  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([key]) => settings.test(key)));
  const redisEnv = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => /^REDIS_(?!URL$)/.test(entry[0]) && entry[1] !== undefined),
  );
  // Signals are handled from the start: a Ctrl-C during startup must not orphan the children
  // (process.exit runs every spawner's 'exit' hook, which SIGKILLs its child).
  let cluster: LocalCluster | undefined;
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    if (cluster === undefined) process.exit(130);
    process.stdout.write('stopping the cluster...\n');
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  cluster = await startLocalCluster({
    replicas: Number(values.replicas),
    port: Number(values.port),
    upstreamBaseUrl: values.upstream,
    ...(values['redis-url'] === undefined ? {} : { redisUrl: values['redis-url'] }),
    ...(values['redis-url'] === undefined && Object.keys(redisEnv).length > 0 ? { redisEnv } : {}),
    worker: !values['no-worker'],
    gatewayEnv: passThrough,
    workerEnv: passThrough,
  });
  process.stdout.write(
    [
      `cluster up: ${cluster.replicas.length} gateway replicas behind nginx`,
      `  OpenAI base URL : ${cluster.baseURL}`,
      `  replicas        : ${cluster.replicas.map((replica) => replica.url).join(' ')} (each serves /metrics, /ready)`,
      `  worker          : ${cluster.worker === null ? 'not started' : `http://127.0.0.1:${cluster.worker.port}/metrics`}`,
      `  redis           : ${
        cluster.redisUrl ||
        Object.entries(redisEnv)
          .map(([key, value]) => `${key}=${/PASSWORD/.test(key) ? '***' : value}`)
          .join(' ')
      }`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}
