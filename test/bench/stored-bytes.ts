/**
 * The stored-response phase of `npm run bench` (also runnable alone: `node test/bench/stored-bytes.ts`):
 *
 * 1. Redis memory per stored Codex turn: a real gateway (cluster mode, a real redis-server) stores a
 *    chain of turns shaped like Codex's (its 18 KB tool list from a recorded request, 2 KB of input,
 *    2 KB of output), then `MEMORY USAGE` is summed over every key the saves wrote. Every turn is read
 *    back through the API and must equal what the gateway answered (GET and input_items).
 * 2. What `WAIT` adds to a save: the Redis store saving the same record on a master with one real
 *    replica, waiting for the replica's acknowledgement or not, interleaved.
 *
 * `--baseline <checkout>` also runs part 1 against another checkout's gateway (e.g. a worktree of
 * the commit before gw:v2) for a before/after.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequestPathRedis } from '@rgw/redis';
import { createRedisResponseStore, type StoredResponseRecord } from '@rgw/response-store';
import { startRedis } from '../support/redis-server.ts';
import { DEFAULT_MODEL_ID, startScriptedBackend, textAnswer } from '../support/scripted-backend.ts';
import { startGateway } from '../support/start-gateway.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface StoredBytesResult {
  readonly turns: number;
  /** The tool list every turn sends, bytes of JSON. */
  readonly toolsBytes: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** Sum of MEMORY USAGE over the stored-response keys, divided by the turns. */
  readonly bytesPerTurn: number;
  /** The same, from the second turn on (the shared tool list is paid once, by the first). */
  readonly marginalBytesPerTurn: number;
  readonly keysPerTurn: number;
  /** Bytes per turn by kind of key: records, item-index keys, shared blobs (tool list, instructions). */
  readonly breakdown: { readonly records: number; readonly items: number; readonly blobs: number };
  /** Every turn read back equal (GET, input_items) to what the gateway answered. */
  readonly readBackIdentical: boolean;
}

export interface ReplicaWaitResult {
  readonly saves: number;
  readonly withoutWaitP50Ms: number;
  readonly withoutWaitP99Ms: number;
  readonly withWaitP50Ms: number;
  readonly withWaitP99Ms: number;
  /** p50 with WAIT minus p50 without: the latency WAIT adds to one stored response. */
  readonly addedP50Ms: number;
  readonly addedP99Ms: number;
}

export interface StorageSummary {
  readonly storedBytes: StoredBytesResult;
  readonly baselineStoredBytes?: StoredBytesResult;
  readonly replicaWait: ReplicaWaitResult;
}

const CODEX_REQUEST = JSON.parse(readFileSync(`${repositoryRoot}libs/responses/src/__fixtures__/requests/codex-turn-2.json`, 'utf8')) as Record<
  string,
  unknown
>;
/**
 * Real prose and code to fill turns with (random bytes would not compress like conversations do).
 * Each turn's input, output and reasoning are different, non-overlapping stretches of it: repeated
 * text would compress better than a real conversation does.
 */
const CORPUS = [
  'docs/operations.md',
  'docs/stored-responses.md',
  'docs/reliability.md',
  'docs/translation.md',
  'docs/architecture.md',
  'apps/gateway/src/turns/run-turn.ts',
  'libs/breaker/src/create-redis-breaker.ts',
  'libs/model-catalog/src/create-redis-model-catalog.ts',
  'libs/responses/src/convert-responses-request-to-chat.ts',
]
  .map((file) => readFileSync(`${repositoryRoot}${file}`, 'utf8'))
  .join('\n');
/** Part `part` (0 input, 1 output, 2 reasoning) of turn `turn`: its own 2 KB stretch of the corpus. */
const slice = (turn: number, part: number, length: number) => {
  const start = ((turn * 3 + part) * 2_048) % (CORPUS.length - 2_048);
  return CORPUS.slice(start, start + length);
};

const API_KEY = 'sk-bench-storage';
const KEY_PATTERNS = ['gw:v2:resp:*', 'gw:v2:item:*', 'gw:v2:blob:*', 'gw:v1:resp:*'];

/** Part 1: one gateway (from `cwd`), one Redis, `turns` chained Codex-shaped turns. */
export async function measureStoredBytes(options: { turns?: number; cwd?: string } = {}): Promise<StoredBytesResult> {
  const turns = options.turns ?? 20;
  const [redis, backend] = await Promise.all([startRedis({ mode: 'process' }), startScriptedBackend()]);
  const gateway = await startGateway({
    env: { UPSTREAM_BASE_URL: backend.url, REDIS_URL: redis.url, REASONING_ENCRYPTION_KEY: 'bench-storage-key-0123456789abcdef' },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    startTimeoutMs: 30_000,
  });
  const admin = createRequestPathRedis(redis.url, { commandTimeoutMs: 10_000 });
  try {
    while (admin.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
    const post = async (body: Record<string, unknown>) => {
      const response = await fetch(`${gateway.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 200) throw new Error(`turn failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    const answered: Record<string, unknown>[] = [];
    const sizes: number[] = [];
    let previous: string | undefined;
    const inputText = (turn: number) => slice(turn, 0, 2_000);
    for (let turn = 0; turn < turns; turn += 1) {
      backend.enqueue(textAnswer(slice(turn, 1, 1_800), { reasoning: slice(turn, 2, 200) }));
      const { input: _recorded, stream: _stream, ...codex } = CODEX_REQUEST;
      answered.push(
        await post({
          ...codex,
          model: DEFAULT_MODEL_ID,
          store: true,
          input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: inputText(turn) }] }],
          ...(previous === undefined ? {} : { previous_response_id: previous }),
        }),
      );
      previous = String(answered.at(-1)?.['id']);
      sizes.push(await storedBytes(admin));
    }
    let identical = true;
    for (const [turn, response] of answered.entries()) {
      const get = await fetch(`${gateway.baseURL}/responses/${String(response['id'])}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      if (JSON.stringify(await get.json()) !== JSON.stringify(response)) identical = false;
      const items = await fetch(`${gateway.baseURL}/responses/${String(response['id'])}/input_items`, { headers: { authorization: `Bearer ${API_KEY}` } });
      const listed = ((await items.json()) as { data: { content: { text: string }[] }[] }).data;
      if (listed[0]?.content[0]?.text !== inputText(turn)) identical = false;
    }
    const total = sizes.at(-1) ?? 0;
    const keys = (await Promise.all(KEY_PATTERNS.map((pattern) => admin.keys(pattern)))).flat().length;
    const perTurn = async (patterns: string[]) => Math.round((await storedBytes(admin, patterns)) / turns);
    return {
      turns,
      toolsBytes: JSON.stringify(CODEX_REQUEST['tools']).length,
      inputBytes: inputText(0).length,
      outputBytes: 2_000,
      bytesPerTurn: Math.round(total / turns),
      marginalBytesPerTurn: Math.round((total - (sizes[0] ?? 0)) / Math.max(1, turns - 1)),
      keysPerTurn: keys / turns,
      breakdown: {
        records: await perTurn(['gw:v2:resp:*', 'gw:v1:resp:*:resp_*']),
        items: await perTurn(['gw:v2:item:*', 'gw:v1:resp:*:item:*']),
        blobs: await perTurn(['gw:v2:blob:*']),
      },
      readBackIdentical: identical,
    };
  } finally {
    admin.disconnect();
    await gateway.stop();
    await backend.close();
    await redis.stop();
  }
}

/** MEMORY USAGE (all samples) summed over every key a stored response writes, in either layout. */
async function storedBytes(admin: ReturnType<typeof createRequestPathRedis>, patterns: readonly string[] = KEY_PATTERNS): Promise<number> {
  let total = 0;
  for (const pattern of patterns) {
    for (const key of await admin.keys(pattern)) total += Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  }
  return total;
}

/** Part 2: save latency with and without WAIT on a master with one real replica. */
export async function measureReplicaWait(options: { saves?: number } = {}): Promise<ReplicaWaitResult> {
  const saves = options.saves ?? 400;
  const [master, replicaServer] = await Promise.all([startRedis({ mode: 'process' }), startRedis({ mode: 'process' })]);
  const reads = createRequestPathRedis(master.url, { commandTimeoutMs: 5_000 });
  const writes = createRequestPathRedis(master.url, { commandTimeoutMs: 5_000 });
  const replica = createRequestPathRedis(replicaServer.url, { commandTimeoutMs: 5_000 });
  try {
    while (reads.status !== 'ready' || writes.status !== 'ready' || replica.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
    await replica.call('REPLICAOF', '127.0.0.1', String(master.port));
    while (!/slave0:.*state=online/.test(await reads.info('replication'))) await new Promise((resolve) => setTimeout(resolve, 50));
    const stores = {
      without: createRedisResponseStore({ redis: reads, writer: writes, ttlSeconds: 3_600, replicaAck: { replicasFor: () => 0, timeoutMs: 1_000 } }),
      with: createRedisResponseStore({ redis: reads, writer: writes, ttlSeconds: 3_600, replicaAck: { replicasFor: () => 1, timeoutMs: 1_000 } }),
    };
    const record = (id: string): StoredResponseRecord => ({
      response: {
        id,
        object: 'response',
        status: 'completed',
        tools: CODEX_REQUEST['tools'],
        output: [{ id: `msg_${id}`, type: 'message', role: 'assistant', content: [{ type: 'output_text', text: slice(3, 1, 2_000), annotations: [] }] }],
      },
      inputItems: [{ id: `in_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: slice(3, 0, 2_000) }] }],
      ancestorIds: [],
    });
    const timings = { without: [] as number[], with: [] as number[] };
    for (let index = 0; index < saves + 40; index += 1) {
      // Interleaved, so machine drift touches both alike; the first 40 warm up the JIT and connections.
      const kind = index % 2 === 0 ? 'without' : 'with';
      const started = performance.now();
      await stores[kind].save('o'.repeat(64), record(`resp_${kind}_${index}`));
      if (index >= 40) timings[kind].push(performance.now() - started);
    }
    const quantile = (values: number[], q: number) =>
      [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? Number.NaN;
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return {
      saves,
      withoutWaitP50Ms: round(quantile(timings.without, 0.5)),
      withoutWaitP99Ms: round(quantile(timings.without, 0.99)),
      withWaitP50Ms: round(quantile(timings.with, 0.5)),
      withWaitP99Ms: round(quantile(timings.with, 0.99)),
      addedP50Ms: round(quantile(timings.with, 0.5) - quantile(timings.without, 0.5)),
      addedP99Ms: round(quantile(timings.with, 0.99) - quantile(timings.without, 0.99)),
    };
  } finally {
    await replica.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined);
    for (const client of [reads, writes, replica]) client.disconnect();
    await Promise.all([master.stop(), replicaServer.stop()]);
  }
}

/** Both parts (and the baseline checkout's part 1, when given). */
export async function measureStorage(options: { baselineCwd?: string; quick?: boolean } = {}): Promise<StorageSummary> {
  const turns = options.quick ? 8 : 20;
  const storedBytes = await measureStoredBytes({ turns });
  const baselineStoredBytes = options.baselineCwd === undefined ? undefined : await measureStoredBytes({ turns, cwd: options.baselineCwd });
  const replicaWait = await measureReplicaWait({ saves: options.quick ? 100 : 400 });
  return { storedBytes, ...(baselineStoredBytes === undefined ? {} : { baselineStoredBytes }), replicaWait };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, quick: { type: 'boolean', default: false } } });
  const summary = await measureStorage({ ...(values.baseline === undefined ? {} : { baselineCwd: values.baseline }), quick: values.quick });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
