/**
 * Runs the gateway as a cluster on one machine, without Docker: Redis + N gateway replicas +
 * the worker + nginx in front. For local use and for the cluster tests.
 *
 *   npm run cluster -- --replicas 3 --port 8080 [--upstream https://llm.chutes.ai/v1] [--redis-url redis://…] [--no-worker]
 *   npm run cluster -- --help
 *
 * Another Redis mode: set its variables in the environment instead of --redis-url (REDIS_CLUSTER_NODES,
 * or REDIS_SENTINELS + REDIS_SENTINEL_MASTER, REDIS_TLS*, REDIS_PASSWORD…); they reach every process.
 * No REASONING_ENCRYPTION_KEY is needed: the replicas agree on one through Redis (set one to choose it).
 *
 * Then point any OpenAI client at http://127.0.0.1:8080/v1. Ctrl-C or SIGTERM stops everything
 * (Redis, replicas, worker, nginx, the temp dir). Each child's output is printed with a prefix
 * (`[replica-1] …`, `[worker] …`); a child that dies is reported. Readiness is polled on `/ready`
 * and `/health`, never read from logs, so every LOG_LEVEL works.
 * Needs `redis-server` and `nginx` on PATH or in /usr/sbin (Debian: apt-get install redis-server nginx-light).
 * Every other gateway variable (CIRCUIT_BREAKER_*, MODELS_REFRESH_SECONDS, LOG_LEVEL…) is passed through from the environment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Every line a child writes, with its name (`replica-1`, `worker`, `nginx`, `redis`); the CLI prints them. */
  onOutput?: (source: string, line: string) => void;
  /** A child that exited while the cluster was not stopping (a crash, a kill from outside). */
  onChildExit?: (source: string, exit: { readonly pid: number | undefined; readonly code: number | null; readonly signal: NodeJS.Signals | null }) => void;
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
  /** The temp dir with nginx's config and logs (access.log, error.log); removed by stop(). */
  readonly workDir: string;
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
  let stopping = false;
  const output = options.onOutput ?? (() => undefined);
  /** Reports `child`'s exit unless the cluster is stopping it. */
  const watchExit = (source: string, child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (!stopping) options.onChildExit?.(source, { pid: child.pid, code, signal });
    });
  };
  try {
    const redis = options.redisUrl === undefined && options.redisEnv === undefined ? await startRedis({ mode: 'process' }) : null;
    const redisUrl = options.redisUrl ?? redis?.url ?? '';
    if (redis !== null) {
      stoppers.push(() => redis.stop());
      const child = redis.child();
      if (child !== undefined) watchExit('redis', child);
    }
    const redisEnv = options.redisEnv ?? { REDIS_URL: redisUrl };
    // No REASONING_ENCRYPTION_KEY: the replicas agree on one through Redis (gatewayEnv may set one).
    const sharedEnv = {
      UPSTREAM_BASE_URL: options.upstreamBaseUrl,
      ...redisEnv,
      ...options.gatewayEnv,
    };
    const replicas: StartedGateway[] = [];
    let started = 0;
    const addReplica = async () => {
      started += 1;
      const source = `replica-${started}`;
      const gatewayCwd = options.gatewayCwd ?? process.env['RGW_CLUSTER_GATEWAY_CWD'];
      const replica = await startWithFreePort((port) =>
        startGateway({
          env: sharedEnv,
          port,
          onLine: (_stream, line) => output(source, line),
          ...(gatewayCwd === undefined ? {} : { cwd: gatewayCwd }),
        }),
      );
      replicas.push(replica);
      watchExit(source, replica.process);
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
      worker = await startWithFreePort((port) =>
        startWorkerProcess({ ...redisEnv, UPSTREAM_BASE_URL: options.upstreamBaseUrl, ...options.workerEnv, WORKER_PORT: String(port) }, (line) =>
          output('worker', line),
        ),
      );
      watchExit('worker', worker.process);
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
    nginx.stderr.on('data', (chunk: Buffer) => {
      nginxErrors += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line !== '') output('nginx', line);
    });
    watchExit('nginx', nginx);
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
      workDir,
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
        // Reload: new workers use the new upstream list, old ones finish their streams. Done once a
        // worker that did not exist before runs (a fixed wait was too short on a loaded machine).
        const oldWorkers = new Set(childPidsOf(nginx.pid));
        nginx.kill('SIGHUP');
        if (oldWorkers.size > 0) await waitFor(() => childPidsOf(nginx.pid).some((pid) => !oldWorkers.has(pid)), 10_000);
        // The old workers close their idle keep-alive connections as they leave: give clients a moment
        // to see those closes before they send again (else a pooled socket dies under a request).
        await new Promise((resolve) => setTimeout(resolve, 300));
        return replica;
      },
      startWorker,
      async stop() {
        stopping = true;
        for (const stopper of stoppers.splice(0).reverse()) await stopper().catch(() => undefined);
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopping = true;
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** A free port can be taken between choosing it and binding it: try another one, a few times. */
async function startWithFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start(await findFreePort());
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('already in use')) throw error;
    }
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
        include ${nginxSnippets}/gateway-errors.conf;
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

/** The worker on a known WORKER_PORT, ready once its `/health` answers (at every LOG_LEVEL). */
async function startWorkerProcess(env: Readonly<Record<string, string | undefined>>, onLine: (line: string) => void = () => undefined): Promise<WorkerProcess> {
  const childEnv: Record<string, string> = { PATH: process.env['PATH'] ?? '', WORKER_HOST: '127.0.0.1' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const port = Number(childEnv['WORKER_PORT']);
  const child = spawn(process.execPath, ['apps/worker/src/main.ts'], { cwd: repositoryRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // Until the child has exited, the script's own exit (even mid-stop) takes it down too.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      logs.push(...lines);
      for (const line of lines) onLine(line);
    });
  }
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}):\n${logs.join('\n')}`);
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok === true;
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

/** `name` from /usr/sbin and friends (Debian puts nginx there, outside a normal PATH) or PATH. */
export function findBinary(name: string): string {
  for (const candidate of [`/usr/sbin/${name}`, `/usr/local/sbin/${name}`, `/usr/local/bin/${name}`, `/usr/bin/${name}`]) {
    if (existsSync(candidate)) return candidate;
  }
  if (spawnSync(name, ['-v']).error === undefined) return name;
  throw new Error(`${name} not found: apt-get install ${name === 'nginx' ? 'nginx-light' : name}`);
}

/** The children of `pid` (nginx's worker processes), from /proc; empty where there is no /proc. */
function childPidsOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((entry) => entry !== '')
      .map(Number);
  } catch {
    // A kernel without CONFIG_PROC_CHILDREN: each process's parent is in its stat line.
    try {
      return readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((entry) => {
          const stat = readIfExists(`/proc/${entry}/stat`);
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        })
        .map(Number);
    } catch {
      return [];
    }
  }
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
const USAGE = `Usage: npm run cluster -- [options]

Runs Redis, gateway replicas, the model-refresh worker and nginx on this machine.

Options:
  --replicas <n>        gateway replicas, 1 to 32 (default 2)
  --port <port>         nginx's port on 127.0.0.1, 0 for a free one (default 8080)
  --upstream <url>      the Chat Completions backend, http(s) URL with /v1 (default $UPSTREAM_BASE_URL, else https://llm.chutes.ai/v1)
  --redis-url <url>     use this Redis (redis:// or rediss://) instead of starting redis-server
  --no-worker           do not start the worker
  -h, --help            this text

Gateway settings (CIRCUIT_BREAKER_*, MODELS_*, LOG_LEVEL, ...) are passed from the environment to
every replica and the worker. Ctrl-C or SIGTERM stops everything.
`;

/** The CLI's options, checked: a bad value is one line naming the option, never a stack trace. */
function readCliOptions(argv: readonly string[]): { replicas: number; port: number; upstream: string; redisUrl: string | undefined; worker: boolean } | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      replicas: { type: 'string', default: '2' },
      port: { type: 'string', default: '8080' },
      upstream: { type: 'string', default: process.env['UPSTREAM_BASE_URL']?.trim() || 'https://llm.chutes.ai/v1' },
      'redis-url': { type: 'string' },
      'no-worker': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const integer = (name: string, text: string, min: number, max: number): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new CliError(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
    return value;
  };
  const url = (name: string, text: string, schemes: readonly string[]): string => {
    let protocol = '';
    try {
      protocol = new URL(text).protocol.replace(/:$/, '');
    } catch {
      // reported below
    }
    if (!schemes.includes(protocol))
      throw new CliError(
        `--${name} must be ${(schemes[0] ?? '').startsWith('h') ? 'an' : 'a'} ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL (got "${text}")`,
      );
    return text;
  };
  return {
    replicas: integer('replicas', values.replicas, 1, 32),
    port: integer('port', values.port, 0, 65_535),
    upstream: url('upstream', values.upstream, ['http', 'https']),
    redisUrl: values['redis-url'] === undefined ? undefined : url('redis-url', values['redis-url'], ['redis', 'rediss']),
    worker: !values['no-worker'],
  };
}

class CliError extends Error {}

async function runCli(): Promise<void> {
  let cli: ReturnType<typeof readCliOptions>;
  try {
    cli = readCliOptions(process.argv.slice(2));
  } catch (error) {
    // parseArgs' own errors (an unknown option, a missing value) are one line too.
    process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  if (cli === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // Pass the operator's gateway settings through; not PORT/HOST/REDIS_URL/UPSTREAM_BASE_URL: the script assigns those.
  const settings = /^(UPSTREAM_(?!BASE_URL$)|CIRCUIT_BREAKER_|MODELS_|MAX_|SHUTDOWN_|RESPONSE|REASONING_|CORS_|METRICS_|RATE_LIMIT_|SERVER_|LOG_LEVEL$)/;
  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([key]) => settings.test(key)));
  const redisEnv = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => /^REDIS_(?!URL$)/.test(entry[0]) && entry[1] !== undefined),
  );
  const print = (source: string, line: string) => process.stdout.write(`[${source}] ${line}\n`);
  // Signals are handled from the start. One during start-up stops what was started as soon as
  // startLocalCluster returns (or fails and cleans up itself).
  let cluster: LocalCluster | undefined;
  let stopRequested = false;
  let stopping: Promise<void> | undefined;
  const stop = (exitCode: number) => {
    stopping ??= (async () => {
      process.stdout.write('[cluster] stopping: replicas, worker, nginx, redis...\n');
      await cluster?.stop();
      process.stdout.write('[cluster] stopped\n');
      process.exit(exitCode);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      stopRequested = true;
      if (cluster !== undefined) stop(0);
    });
  }
  try {
    cluster = await startLocalCluster({
      replicas: cli.replicas,
      port: cli.port,
      upstreamBaseUrl: cli.upstream,
      ...(cli.redisUrl === undefined ? {} : { redisUrl: cli.redisUrl }),
      ...(cli.redisUrl === undefined && Object.keys(redisEnv).length > 0 ? { redisEnv } : {}),
      worker: cli.worker,
      gatewayEnv: passThrough,
      workerEnv: passThrough,
      onOutput: print,
      onChildExit: (source, exit) => {
        const how = exit.signal === null ? `with code ${exit.code}` : `by ${exit.signal}`;
        process.stderr.write(`[cluster] ${source} (pid ${exit.pid}) exited ${how}; the rest keeps running (nginx sends its traffic elsewhere)\n`);
      },
    });
  } catch (error) {
    // startLocalCluster has stopped what it started. A child's own reason is in its prefixed output above.
    if (stopRequested) process.exit(130);
    process.stderr.write(`cluster: could not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    process.exit(1);
  }
  if (stopRequested) {
    stop(0);
    return;
  }
  process.stdout.write(
    [
      `[cluster] up: ${cluster.replicas.length} gateway replicas behind nginx`,
      `  OpenAI base URL : ${cluster.baseURL}`,
      `  replicas        : ${cluster.replicas.map((replica) => replica.url).join(' ')} (each serves /metrics, /ready)`,
      `  worker          : ${cluster.worker === null ? 'not started' : `http://127.0.0.1:${cluster.worker.port}/metrics`}`,
      `  redis           : ${
        cluster.redisUrl ||
        Object.entries(redisEnv)
          .map(([key, value]) => `${key}=${/PASSWORD/.test(key) ? '***' : value}`)
          .join(' ')
      }`,
      `  nginx logs      : ${join(cluster.workDir, 'access.log')} ${join(cluster.workDir, 'error.log')}`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runCli();
