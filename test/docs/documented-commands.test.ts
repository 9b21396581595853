/**
 * Every command the README and docs/ give is run here, as written or in a cheap form (fewer
 * iterations, a free port instead of 8080, `list` instead of `run`), with the machine's own Node
 * first on PATH, as a reader on a fresh clone would run it. A command that stops working fails the
 * suite; so does a new command no rule below knows (say how to run it, or why it cannot run here),
 * and a bare `node file.ts`, which fails on a Node older than 24.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findFreePort, startRedis, type TestRedis } from '../support/redis-server.ts';
import { startScriptedBackend, textAnswer, type ScriptedBackend } from '../support/scripted-backend.ts';
import { skipNote } from '../deploy/deploy-files.ts';
import { type DocumentedCommand, extractDocumentedCommands } from './extract-documented-commands.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The machine's PATH: without the Node 24 `npm test` put first, so the documented wrapper has to bring it. */
const machinePath = (process.env['PATH'] ?? '')
  .split(delimiter)
  .filter((entry) => !entry.includes('.tools/node') && !entry.includes('node_modules/.bin'))
  .join(delimiter);

/** Where a documented command sends its requests; the test runs that server first. */
type Server = 'gateway' | 'cluster' | 'worker' | 'backend';

type Rule =
  /** Run this (the command itself, or its cheap form) with `sh -c`; it must exit 0. */
  | { readonly pattern: RegExp; readonly run: (command: string) => string; readonly env?: () => Record<string, string>; readonly needs?: string }
  /** Starts a server: run by the server's own test, with the requests the docs send to it. */
  | { readonly pattern: RegExp; readonly starts: Server }
  /** A request to a server the docs start: run against it. */
  | { readonly pattern: RegExp; readonly requests: Server }
  /** Cannot run on this machine, and why. */
  | { readonly pattern: RegExp; readonly exempt: string }
  /** Wrong as written. */
  | { readonly pattern: RegExp; readonly wrong: string };

let backend: ScriptedBackend;
let redis: TestRedis;

const BENCH_CHEAP_ARGS: Readonly<Record<string, string>> = {
  'breaker-cost': '',
  'chunk-pipeline-cost': '20 2',
  'request-stage-cost': '50',
  'profile-gateway': 'json 1',
  // With and without --baseline: this checkout is its own baseline.
  'focus-targets': `throughput 1 1 --no-redis`,
};

const RULES: readonly Rule[] = [
  { pattern: /^apt-get install /, exempt: 'installs system packages (.ci/run installs them on a clean machine)' },
  { pattern: /^npm ci$/, exempt: 'reinstalls node_modules under the running suite (.ci/run runs it on a clean clone)' },
  { pattern: /^npm test$/, exempt: 'is this test suite' },
  { pattern: /^npm start$/, starts: 'gateway' },
  { pattern: /^npm run start:worker$/, starts: 'worker' },
  { pattern: /^npm run cluster -- --help$/, run: (command) => command },
  { pattern: /^npm run cluster( -- --replicas \d+ --port \d+)?$/, starts: 'cluster' },
  { pattern: /^npm run typecheck$/, run: (command) => command },
  {
    pattern: /^npm run bench( -- --(quick|pin))?$/,
    exempt: 'measures for minutes on every core; its module loads and renders here (`npm run bench -- --render-only … --check`)',
  },
  // Re-rendering the recorded run must give the committed page (and writes nothing with --check).
  {
    pattern: /^npm run bench -- --only streams-at-scale( --quick)?$/,
    exempt: 'holds up to 10,000 streams through several hops for minutes; its module loads and renders with the rest of the bench (`--render-only … --check`)',
  },
  { pattern: /^npm run bench -- --render-only <file>$/, run: () => 'npm run bench -- --render-only test/bench/results-round3.json --check' },
  { pattern: /^npm run soak$/, run: (command) => command, env: () => ({ SOAK_SECONDS: '2', SOAK_SAMPLE_SECONDS: '1', SOAK_CONCURRENCY: '2' }) },
  // `list` collects the same files without running them (they run in this suite anyway).
  { pattern: /^npm run vitest -- run (.+)$/, run: (command) => command.replace(' -- run ', ' -- list ') },
  // The wrapper itself, on any script: the gateway's module graph, loaded and left (--load-only).
  { pattern: /^node scripts\/node24\.mjs <file\.ts>$/, run: () => 'node scripts/node24.mjs apps/gateway/src/main.ts --load-only' },
  {
    pattern: /^node scripts\/node24\.mjs test\/bench\/([\w-]+)\.ts\b.*$/,
    run: (command) => {
      const script = /test\/bench\/([\w-]+)\.ts/.exec(command)?.[1] ?? '';
      const baseline = command.includes('--baseline') ? ` --baseline=${repositoryRoot}` : '';
      return `node scripts/node24.mjs test/bench/${script}.ts ${BENCH_CHEAP_ARGS[script] ?? ''}${baseline}`;
    },
    env: () => ({ BENCH_ITERATIONS: '200' }),
  },
  {
    pattern: /^node (--max-semi-space-size=16 )?apps\/(gateway|worker)\/src\/main\.ts$/,
    exempt: 'what the image (Node 24) and the npm scripts run; `npm start` and `npm run start:worker` run here',
  },
  { pattern: /^node … main\.ts --load-only$/, exempt: 'the image build step (Dockerfile), checked by test/deploy/dockerfile.test.ts' },
  { pattern: /^node --cpu-prof$/, exempt: 'a Node flag profile-gateway.ts passes, not a command' },
  { pattern: /^node /, wrong: 'runs on the machine’s Node (older than 24 here): write `node scripts/node24.mjs …` or use an npm script' },
  { pattern: /^curl (-\S+ )*http:\/\/localhost:8282\//, requests: 'gateway' },
  { pattern: /^curl (-\S+ )*http:\/\/(127\.0\.0\.1|localhost):8080\//, requests: 'cluster' },
  { pattern: /^curl worker:9464\//, requests: 'worker' },
  { pattern: /^curl (-\S+ )*\$UPSTREAM_BASE_URL\//, requests: 'backend' },
  { pattern: /^promtool test rules \S+$/, run: (command) => command, needs: 'promtool' },
  // Named as a check of `npm test`; its file is the compose one.
  { pattern: /^promtool check config$/, run: (command) => `${command} deploy/prometheus/prometheus.yml`, needs: 'promtool' },
  {
    pattern: /^docker-compose config$/,
    run: (command) => `${command} --quiet`,
    env: () => ({ REASONING_ENCRYPTION_KEY: 'x'.repeat(48) }),
    needs: 'docker-compose',
  },
  { pattern: /^git clone /, exempt: 'clones the repository: the suite runs in a checkout already' },
  { pattern: /^cd responses-gateway$/, exempt: 'enters the clone of the line before' },
  // The heredoc that writes an operator's .env, line by line: deploy-script.test.ts checks what deploy.sh needs of it.
  {
    pattern: /^cat >> \.env <<SETTINGS$|^SETTINGS$|^(GATEWAY_DOMAIN|ACME_EMAIL|REASONING_ENCRYPTION_KEY|GRAFANA_ADMIN_PASSWORD)=.+$/,
    exempt: "lines of a heredoc writing the operator's .env",
  },
  // Deploying needs a Docker engine; its help and checks run here (test/deploy/deploy-script.test.ts runs the rest).
  { pattern: /^deploy\/deploy\.sh( --[\w-]+( \d+)?)*$/, run: () => 'deploy/deploy.sh --help' },
  { pattern: /^curl (-\S+ )*https:\/\/gw\.example\.com\//, exempt: 'a request to the public deployment the docs describe (a real domain with certificates)' },
  // Settings shown for an operator's deployment; test/cluster/redis-*.test.ts start the gateway in each of these modes.
  { pattern: /^REDIS_[A-Z_]+=\S+$/, exempt: "an environment setting of an operator's Redis deployment" },
  { pattern: /^redis-cli --cluster create$/, exempt: 'joins running nodes into a Redis Cluster: test/support/redis-cluster.ts runs it' },
  {
    pattern: /^redis-cli (get gw:|--scan |-c -h <node> |info replication$)/,
    exempt: "reads (or cleans up) an operator's Redis; the keys and commands are exercised by test/cluster/redis-*.test.ts",
  },
  { pattern: /^openssl s_client -connect host:port /, exempt: "connects to an operator's TLS Redis" },
  { pattern: /^curl (-\S+ )*http:\/\/<replica>:8282\//, exempt: 'a request to one replica of an operator’s deployment (placeholder host)' },
  {
    pattern: /^npm run bench -- --storage-only$/,
    exempt:
      'measures a real gateway against a real Redis for a minute, as npm run bench does; what it stores is checked by the response-store and redis-single tests',
  },
  // The public Open Responses suite is never committed: a copy is fetched by hand (docs/websocket-mode.md).
  {
    pattern: /^npm run compliance -- --suite (\S+|<copy of openresponses\/openresponses>)( --cluster)?$/,
    exempt: 'needs a copy of the public Open Responses suite, which is never committed',
  },
  {
    pattern: /^\(cd \.\.\/scratch-openresponses$|^npm init -y >\/dev\/null$|^npm install tsx zod@[\d.]+\)$/,
    exempt: 'sets up the copy of the suite, outside the repository',
  },
  { pattern: /^docker /, exempt: 'needs a Docker engine (none on the test machine); `docker-compose config` validates the compose file here' },
  { pattern: /^(helm|kubectl) |^--set /, exempt: 'needs Helm and a Kubernetes cluster; test/deploy/helm-chart.test.ts checks the chart offline' },
  { pattern: /^redis-cli -u \$REDIS_URL (ping|info memory)$/, run: (command) => command, env: () => ({ REDIS_URL: redis.url }), needs: 'redis-cli' },
  {
    pattern: /^export REASONING_ENCRYPTION_KEY=\$\(openssl rand -base64 48\)$/,
    // The key it makes must be one the gateway accepts (32+ characters).
    run: (command) => `${command} && test "\${#REASONING_ENCRYPTION_KEY}" -ge 32`,
    needs: 'openssl',
  },
];

const commands: DocumentedCommand[] = extractDocumentedCommands(repositoryRoot);
const ruleFor = (command: string) => RULES.find((rule) => rule.pattern.test(command));
const unique = (list: readonly DocumentedCommand[]) => [...new Map(list.map((entry) => [entry.command, entry])).values()];

/** `sh -c command` on the machine's PATH; resolves with its exit code and output. */
async function runShell(command: string, env: Readonly<Record<string, string>> = {}, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  const child = spawn('sh', ['-c', command], {
    cwd: repositoryRoot,
    env: { PATH: machinePath, HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

interface RunningServer {
  readonly child: ChildProcess;
  readonly output: () => string;
}

function startServer(command: string, env: Readonly<Record<string, string>>): RunningServer {
  // `exec`: the signal the test sends is npm's, as an operator's would be.
  const child = spawn('sh', ['-c', `exec ${command}`], {
    cwd: repositoryRoot,
    env: { PATH: machinePath, HOME: process.env['HOME'] ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function stopServer(server: RunningServer): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

async function answers(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok === true;
}

/**
 * The documented requests to `server`, pointed at where it runs here; each must succeed (curl --fail).
 * Returns the ones that failed (with curl's words), or a note when the docs have none for it.
 */
async function runRequests(server: Server, origin: string, from: RegExp): Promise<string[]> {
  const requests = unique(
    commands.filter(({ command }) => {
      const rule = ruleFor(command);
      return rule !== undefined && 'requests' in rule && rule.requests === server;
    }),
  );
  if (requests.length === 0) return [`no documented request to the ${server}`];
  const failures: string[] = [];
  for (const { command, where } of requests) {
    backend.setHandler(() => textAnswer('hello from the docs'));
    const pointed = command.replace(from, origin).replace(/^curl /, 'curl --fail --silent --show-error --output /dev/null ');
    const result = await runShell(pointed, { CHUTES_API_KEY: 'sk-docs', KEY: 'sk-docs', UPSTREAM_BASE_URL: backend.url });
    if (result.code !== 0) failures.push(`${where}: ${command}: exit ${result.code}: ${result.output.trim()}`);
  }
  return failures;
}

/** Every model id the documented requests name, so the backend lists them. */
function documentedModels(): string[] {
  return [...new Set(commands.flatMap(({ command }) => [...command.matchAll(/"model":"([^"]+)"/g)].map((match) => match[1]!)))];
}

beforeAll(async () => {
  [backend, redis] = await Promise.all([startScriptedBackend({ models: documentedModels() }), startRedis({ mode: 'process' })]);
});
afterAll(async () => {
  await Promise.all([backend?.close(), redis?.stop()]);
});

describe('commands in the README and docs/', () => {
  it('are all known: each is run below, or says why it cannot run here', () => {
    expect(commands.length).toBeGreaterThan(40);
    const unknown = commands.filter(({ command }) => ruleFor(command) === undefined).map(({ command, where }) => `${where}: ${command}`);
    expect(unknown).toEqual([]);
  });

  it('never call a script with a bare `node` (it fails on a Node older than 24)', () => {
    const wrong = commands.flatMap(({ command, where }) => {
      const rule = ruleFor(command);
      return rule !== undefined && 'wrong' in rule ? [`${where}: ${command}: ${rule.wrong}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  const runnable = unique(
    commands.filter(({ command }) => {
      const rule = ruleFor(command);
      return rule !== undefined && 'run' in rule;
    }),
  );
  for (const { command, where } of runnable) {
    const rule = ruleFor(command) as Extract<Rule, { run: unknown }>;
    // Like the other deploy checks: skipped, with a note naming the package, where a tool is missing (CI installs them).
    const note =
      rule.needs === undefined ? '' : skipNote(rule.needs, rule.needs === 'promtool' ? 'prometheus' : rule.needs === 'redis-cli' ? 'redis-tools' : rule.needs);
    it.skipIf(note !== '')(`${command}${note}`, async () => {
      const result = await runShell(rule.run(command), rule.env?.() ?? {});
      // profile-gateway leaves its .cpuprofile for the reader: not for a test run.
      for (const match of result.output.matchAll(/(\/\S+\/gateway-profile-\w+)\/\S+\.cpuprofile/g)) rmSync(match[1]!, { recursive: true, force: true });
      expect({ where, code: result.code, output: result.code === 0 ? '' : result.output.slice(-3_000) }).toEqual({ where, code: 0, output: '' });
    });
  }

  it('npm start serves the documented requests, and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const server = startServer('npm start', { PORT: String(port), HOST: '127.0.0.1', UPSTREAM_BASE_URL: backend.url });
    try {
      await vi.waitFor(async () => expect(await answers(`http://127.0.0.1:${port}/ready`)).toBe(true), { timeout: 30_000, interval: 100 });
      expect(await runRequests('gateway', `http://127.0.0.1:${port}/`, /http:\/\/localhost:8282\//)).toEqual([]);
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('npm run cluster -- --replicas 3 --port 8080 (on a free port) serves the documented requests, and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const written = unique(commands).find(({ command }) => command.startsWith('npm run cluster -- --replicas'))!.command;
    const server = startServer(`${written.replace(/--port \d+/, `--port ${port}`)} --upstream ${backend.url}`, {});
    try {
      await vi.waitFor(() => expect(server.output()).toContain('[cluster] up: 3 gateway replicas'), { timeout: 60_000, interval: 100 });
      expect(await runRequests('cluster', `http://127.0.0.1:${port}/`, /http:\/\/(127\.0\.0\.1|localhost):8080\//)).toEqual([]);
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('npm run start:worker answers the documented health check, and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const server = startServer('npm run start:worker', {
      REDIS_URL: redis.url,
      UPSTREAM_BASE_URL: backend.url,
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
    });
    try {
      await vi.waitFor(async () => expect(await answers(`http://127.0.0.1:${port}/health`)).toBe(true), { timeout: 30_000, interval: 100 });
      expect(await runRequests('worker', `http://127.0.0.1:${port}/`, /worker:9464\//)).toEqual([]);
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  });

  it('the runbook’s direct check of the backend works against a backend', async () => {
    expect(await runRequests('backend', `${backend.url}/`, /\$UPSTREAM_BASE_URL\//)).toEqual([]);
  });
});
