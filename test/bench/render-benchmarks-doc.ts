/** The benchmark's summary shape, its target checks and docs/benchmarks.md. Pure: no I/O. */
import type { StorageSummary } from './stored-bytes.ts';
import type { ToolLoopResult } from './tool-loop.ts';
import type { ScaleRun, StreamsAtScaleSummary } from './streams-at-scale.ts';

export type TargetName = 'direct' | 'proxy' | 'embedded' | 'cluster';
type PerTarget = Partial<Record<TargetName, Record<string, number>>>;

export interface BenchSummary {
  readonly date: string;
  readonly node: string;
  readonly cpus: string;
  readonly pinned: boolean;
  readonly logLevel: string;
  readonly quick: boolean;
  readonly settings: Record<string, number>;
  readonly durationSeconds: number;
  /** requestsPerSecond, p50Ms, p99Ms (autocannon, whole ms), hopCpuMicrosPerRequest. */
  readonly throughput: PerTarget;
  readonly streaming: PerTarget;
  /** Fixed-rate latency: p50Ms, p99Ms (µs resolution). */
  readonly latency: PerTarget;
  readonly ttft: PerTarget;
  readonly chunkCpu: PerTarget;
  readonly openStreams: Partial<
    Record<TargetName, { streams: number; completed: number; failed: number; startRssMb: number; peakRssMb: number; elapsedSeconds: number }>
  >;
  readonly leak: Partial<
    Record<TargetName, { requests: number; failed: number; checkpoints: { requests: number; rssMb: number; heapUsedMb: number | null }[] }>
  >;
  /** Redis memory per stored Codex turn and the latency WAIT adds to a save (test/bench/stored-bytes.ts); absent in older runs. */
  readonly storage?: StorageSummary;
  /** The 20-turn tool loop over WebSocket against HTTP (absent from runs before WebSocket mode). */
  readonly toolLoop?: ToolLoopResult;
  /** Up to 10,000 paced streams held through one hop (test/bench/streams-at-scale.ts; absent before issue 17). */
  readonly streamsAtScale?: StreamsAtScaleSummary;
}

/** Redis memory a stored Codex turn (18 KB tools, 2 KB in, 2 KB out) may take. */
const STORED_TURN_LIMIT_BYTES = 5 * 1024;

export interface TargetCheck {
  readonly target: string;
  readonly limit: string;
  readonly measured: string;
  readonly pass: boolean;
}

const TARGET_LABELS: Record<TargetName, string> = {
  direct: 'backend direct',
  proxy: 'bare Node proxy',
  embedded: 'gateway, embedded',
  cluster: 'gateway + Redis',
};
const ORDER: readonly TargetName[] = ['direct', 'proxy', 'embedded', 'cluster'];
/** Growth allowed between the first and last leak checkpoints after warm-up. */
const LEAK_ALLOWANCE_MB = 20;

function field(table: PerTarget, name: TargetName, key: string): number {
  return table[name]?.[key] ?? Number.NaN;
}

/** RSS growth from the first checkpoint after traffic (warm heap, JIT done) to the last. */
export function leakGrowthMb(leak: BenchSummary['leak'][TargetName]): number {
  const points = leak?.checkpoints ?? [];
  const first = points[1] ?? points[0];
  const last = points.at(-1);
  return first && last ? last.rssMb - first.rssMb : Number.NaN;
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export function checkTargets(summary: BenchSummary): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ratio = (name: TargetName) => field(summary.throughput, name, 'requestsPerSecond') / field(summary.throughput, 'proxy', 'requestsPerSecond');
  checks.push({
    target: 'non-streaming throughput, embedded ÷ bare proxy',
    limit: '≥ 0.60',
    measured: fixed(ratio('embedded')),
    pass: ratio('embedded') >= 0.6,
  });
  checks.push({
    target: 'non-streaming throughput, with Redis ÷ bare proxy',
    limit: '≥ 0.50',
    measured: fixed(ratio('cluster')),
    pass: ratio('cluster') >= 0.5,
  });
  for (const name of ['embedded', 'cluster'] as const) {
    const added = field(summary.latency, name, 'p50Ms') - field(summary.latency, 'direct', 'p50Ms');
    checks.push({ target: `added p50 latency, ${TARGET_LABELS[name]} (32 connections)`, limit: '≤ 1 ms', measured: `${fixed(added)} ms`, pass: added <= 1 });
  }
  const cpuRatio = field(summary.chunkCpu, 'embedded', 'cpuMicrosPerChunk') / field(summary.chunkCpu, 'proxy', 'cpuMicrosPerChunk');
  checks.push({ target: 'CPU per streamed chunk, gateway ÷ bare proxy', limit: '≤ 2.0', measured: fixed(cpuRatio), pass: cpuRatio <= 2 });
  for (const name of ['embedded', 'cluster'] as const) {
    const open = summary.openStreams[name];
    const pass = open !== undefined && open.peakRssMb <= 200 && open.failed === 0;
    checks.push({
      target: `peak RSS, ${open?.streams ?? '?'} concurrent open streams, ${TARGET_LABELS[name]}`,
      limit: '≤ 200 MB, none failed',
      measured: open ? `${fixed(open.peakRssMb, 0)} MB, ${open.failed} failed` : 'n/a',
      pass,
    });
  }
  for (const name of ['embedded', 'cluster'] as const) {
    const leak = summary.leak[name];
    const growth = leakGrowthMb(leak);
    checks.push({
      target: `RSS growth over ${leak?.requests ?? '?'} requests, ${TARGET_LABELS[name]}`,
      limit: `≤ ${LEAK_ALLOWANCE_MB} MB`,
      measured: `${fixed(growth, 1)} MB`,
      pass: growth <= LEAK_ALLOWANCE_MB && (leak?.failed ?? 1) === 0,
    });
  }
  if (summary.storage !== undefined) {
    const stored = summary.storage.storedBytes;
    checks.push({
      target: 'Redis memory per stored Codex turn (18 KB tools, 2 KB in, 2 KB out; MEMORY USAGE over every key written)',
      limit: '≤ 5 KB, read back identical',
      measured: `${fixed(stored.bytesPerTurn / 1024, 2)} KB`,
      pass: stored.bytesPerTurn <= STORED_TURN_LIMIT_BYTES && stored.readBackIdentical,
    });
  }
  const loop = summary.toolLoop;
  if (loop !== undefined) {
    checks.push({
      target: 'tool loop: client bytes per turn from turn 5, WebSocket ÷ HTTP (worst turn)',
      limit: '≤ 0.10',
      measured: fixed(loop.worstBytesRatioFrom5, 3),
      pass: loop.worstBytesRatioFrom5 <= 0.1,
    });
    checks.push({
      target: "tool loop: gateway's added latency per turn, WebSocket vs HTTP (median over turns)",
      limit: '≤ HTTP',
      measured: `${fixed(loop.websocketAddedMsPerTurn, 3)} vs ${fixed(loop.httpAddedMsPerTurn, 3)} ms`,
      pass: loop.websocketAddedMsPerTurn <= loop.httpAddedMsPerTurn,
    });
  }
  if (summary.streamsAtScale !== undefined) checks.push(...scaleChecks(summary.streamsAtScale));
  return checks;
}

/** The largest run of a hop over one upstream protocol at one pacing. */
function largestRun(scale: StreamsAtScaleSummary, hop: string, upstream: ScaleRun['upstream'], pacing: ScaleRun['pacing']): ScaleRun | undefined {
  return scale.runs.filter((run) => run.hop === hop && run.upstream === upstream && run.pacing === pacing).sort((a, b) => b.streams - a.streams)[0];
}

const scaleLabel = (run: ScaleRun) =>
  `${run.hop === 'cluster' ? TARGET_LABELS.cluster : TARGET_LABELS.embedded}, ${run.streams} streams, a chunk every ${run.pacing}, ${run.upstream} to the backend`;

/** Issue 17's targets on a 2-core machine. */
function scaleChecks(scale: StreamsAtScaleSummary): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const pacing of ['1–5 s', '100–500 ms'] as const) {
    for (const hop of ['embedded', 'cluster']) {
      const run = largestRun(scale, hop, 'h2', pacing);
      if (run === undefined) continue;
      checks.push({
        target: `streams held at once, none failed: ${scaleLabel(run)}`,
        limit: `${run.streams}, 0 failed`,
        measured: `${run.heldAtOnce}, ${run.failed} failed`,
        pass: run.heldAtOnce === run.streams && run.failed === 0,
      });
      if (pacing === '100–500 ms') continue;
      checks.push({
        target: `peak RSS, and RSS per stream above idle: ${scaleLabel(run)}`,
        limit: '≤ 1,024 MB, ≤ 90 KB',
        measured: `${fixed(run.peakRssMb ?? Number.NaN, 0)} MB, ${fixed(run.rssKbPerStream ?? Number.NaN, 1)} KB`,
        pass: (run.peakRssMb ?? Number.POSITIVE_INFINITY) <= 1024 && (run.rssKbPerStream ?? Number.POSITIVE_INFINITY) <= 90,
      });
      checks.push({
        target: `event-loop delay p99: ${scaleLabel(run)}`,
        limit: '≤ 20 ms',
        measured: `${fixed(run.eventLoopDelayP99Ms ?? Number.NaN, 1)} ms`,
        pass: (run.eventLoopDelayP99Ms ?? Number.POSITIVE_INFINITY) <= 20,
      });
    }
  }
  // CPU per chunk at the same load: the runs below the machine's limit (every stream open at once).
  for (const upstream of ['http/1.1', 'h2'] as const) {
    const proxy = scale.runs.find((run) => run.hop === 'proxy' && run.upstream === upstream && run.pacing === '100–500 ms');
    for (const run of scale.runs.filter((candidate) => candidate.hop !== 'proxy' && candidate.hop !== 'direct' && candidate.upstream === upstream)) {
      if (proxy === undefined || run.pacing !== proxy.pacing || run.streams !== proxy.streams) continue;
      const ratio = (run.steadyCpuMicrosPerChunk ?? Number.NaN) / (proxy.steadyCpuMicrosPerChunk ?? Number.NaN);
      checks.push({
        target: `CPU per chunk ÷ bare proxy's at the same load (every stream open): ${scaleLabel(run)}`,
        limit: '≤ 1.5',
        measured: fixed(ratio),
        pass: ratio <= 1.5,
      });
      checks.push({
        target: `event-loop delay p99: ${scaleLabel(run)}`,
        limit: '≤ 20 ms',
        measured: `${fixed(run.eventLoopDelayP99Ms ?? Number.NaN, 1)} ms`,
        pass: (run.eventLoopDelayP99Ms ?? Number.POSITIVE_INFINITY) <= 20,
      });
    }
  }
  const direct = scale.runs.find((run) => run.hop === 'direct');
  const embedded = scale.runs.find((run) => run.hop === 'embedded' && run.streams === direct?.streams && run.pacing === direct?.pacing);
  if (direct?.probeFirstTokenP50Ms != null && embedded?.probeFirstTokenP50Ms != null) {
    const added = embedded.probeFirstTokenP50Ms - direct.probeFirstTokenP50Ms;
    checks.push({
      target: `added time to first token (p50 of probes sent while all streams are open): ${scaleLabel(embedded)}`,
      limit: '≤ 1 ms',
      measured: `${fixed(added)} ms`,
      pass: added <= 1,
    });
  }
  return checks;
}

/** The streams-at-scale phase: one row per run, then where an open stream's memory goes. */
export function streamsAtScaleTables(scale: StreamsAtScaleSummary): string[] {
  const lines = [
    '### Streams at scale: paced streams held through one hop (first token at once, then a chunk every 100–500 ms, or every 1–5 s)',
    '',
    `File descriptors: ${scale.fileDescriptorLimit} per process here, not raisable in this sandbox; a hop holds two sockets per stream over HTTP/1.1, one over HTTP/2 to the backend. CPU per chunk "all in" is the hop's CPU over the whole run (the requests' own cost included) per chunk relayed; "all open" is its CPU per chunk the backend wrote while every stream was open and none had ended.`,
    '',
    row([
      'hop',
      'to the backend',
      'chunk every',
      'streams (ramp /s)',
      'held at once',
      'failed',
      'idle RSS MB',
      'peak RSS MB',
      'KB per stream',
      'CPU µs per chunk, all in',
      'CPU µs per chunk, all open',
      'first token p50 / p99 ms (ramp)',
      'first token p50 / p99 ms (probes)',
      'event-loop delay p99 ms',
      'backend connections',
    ]),
    row(['---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const run of scale.runs) {
    lines.push(
      row([
        run.hop === 'direct'
          ? 'backend direct'
          : run.hop === 'proxy'
            ? TARGET_LABELS.proxy
            : run.hop === 'cluster'
              ? TARGET_LABELS.cluster
              : TARGET_LABELS.embedded,
        run.upstream === 'none' ? '–' : run.upstream,
        run.pacing,
        `${run.streams} (${run.rampPerSecond})`,
        run.heldAtOnce,
        run.failed,
        run.idleRssMb === null ? '–' : fixed(run.idleRssMb, 0),
        run.peakRssMb === null ? '–' : fixed(run.peakRssMb, 0),
        run.rssKbPerStream === null ? '–' : fixed(run.rssKbPerStream, 1),
        run.cpuMicrosPerChunk === null ? '–' : fixed(run.cpuMicrosPerChunk, 1),
        run.steadyCpuMicrosPerChunk === null ? '–' : fixed(run.steadyCpuMicrosPerChunk, 1),
        `${fixed(run.firstTokenP50Ms)} / ${fixed(run.firstTokenP99Ms)}`,
        run.probeFirstTokenP50Ms === null ? '–' : `${fixed(run.probeFirstTokenP50Ms)} / ${fixed(run.probeFirstTokenP99Ms ?? Number.NaN)}`,
        run.eventLoopDelayP99Ms === null ? '–' : fixed(run.eventLoopDelayP99Ms, 1),
        run.backendConnectionsPeak,
      ]),
    );
  }
  const memory = scale.memory;
  if (memory !== undefined) {
    lines.push(
      '',
      `### Where an open stream's memory goes (${memory.streams} streams open against idle, embedded, h2 to the backend)`,
      '',
      `Per stream: ${fixed(memory.rssKb, 1)} KB of RSS, of which ${fixed(memory.heapUsedKb, 1)} KB V8 heap in use (${fixed(memory.liveHeapKb, 1)} KB live after a full GC, by kind below) and ${fixed(memory.externalKb, 1)} KB outside the heap (Buffers); the rest is garbage not yet collected, heap headroom and native memory (sockets, llhttp, nghttp2).`,
      '',
      row(['kind (V8 heap snapshot)', 'bytes per stream', 'objects per stream']),
      row(['---', '---:', '---:']),
      ...memory.kinds.map((kind) => row([kind.kind, fixed(kind.bytesPerStream, 0), fixed(kind.objectsPerStream, 1)])),
    );
  }
  return lines;
}

/** The tool-loop phase: per-turn latency, client bytes and gateway CPU, WebSocket against HTTP. */
export function toolLoopTables(loop: ToolLoopResult): string[] {
  const lines = [
    `### A ${loop.turns}-turn Codex-like tool loop, WebSocket against HTTP (${loop.repetitions} repetitions each, interleaved; medians)`,
    '',
    'Each turn the backend calls `exec_command` and the client sends back 2 KB of output. HTTP sends the whole conversation',
    'every turn (Codex with `store: false`); the socket sends `previous_response_id` and the new output only (permessage-deflate',
    'offered, tools and other fields every turn, as Codex does). "Added" is the turn\'s latency minus the same Chat Completions',
    'request sent to the backend directly. Client bytes are what the client wrote on its TCP socket (headers, framing and',
    'compression included).',
    '',
    row(['measure', 'HTTP', 'WebSocket', 'WebSocket ÷ HTTP']),
    row(['---', '---:', '---:', '---:']),
    row(['added latency per turn, ms (median over turns)', fixed(loop.httpAddedMsPerTurn, 3), fixed(loop.websocketAddedMsPerTurn, 3), '–']),
    row([
      'client bytes per turn, turns 5–20 (mean)',
      fixed(loop.httpClientBytesFrom5, 0),
      fixed(loop.websocketClientBytesFrom5, 0),
      fixed(loop.websocketClientBytesFrom5 / loop.httpClientBytesFrom5, 3),
    ]),
    row([
      'gateway CPU per turn, µs',
      fixed(loop.httpGatewayCpuMicrosPerTurn, 0),
      fixed(loop.websocketGatewayCpuMicrosPerTurn, 0),
      fixed(loop.websocketGatewayCpuMicrosPerTurn / loop.httpGatewayCpuMicrosPerTurn),
    ]),
    '',
    row(['turn', 'direct ms', 'HTTP ms', 'WebSocket ms', 'HTTP client bytes', 'WebSocket client bytes', 'WebSocket frame bytes (uncompressed)']),
    row(['---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const turn of loop.perTurn) {
    lines.push(
      row([
        turn.turn,
        fixed(turn.directMs, 2),
        fixed(turn.httpMs, 2),
        fixed(turn.websocketMs, 2),
        fixed(turn.httpClientBytes, 0),
        fixed(turn.websocketClientBytes, 0),
        fixed(turn.websocketFrameBytes, 0),
      ]),
    );
  }
  return lines;
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function resultTables(summary: BenchSummary): string[] {
  const lines: string[] = [];
  const direct = (table: PerTarget, key: string) => field(table, 'direct', key);
  lines.push('### Non-streaming requests, 32 connections (closed loop)', '');
  lines.push(row(['target', 'requests/s', '× bare proxy', 'p50 ms', 'p99 ms', 'hop CPU µs/request']), row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const rps = field(summary.throughput, name, 'requestsPerSecond');
    lines.push(
      row([
        TARGET_LABELS[name],
        fixed(rps, 0),
        fixed(rps / field(summary.throughput, 'proxy', 'requestsPerSecond')),
        fixed(field(summary.throughput, name, 'p50Ms'), 0),
        fixed(field(summary.throughput, name, 'p99Ms'), 0),
        name === 'direct' ? '–' : fixed(field(summary.throughput, name, 'hopCpuMicrosPerRequest'), 0),
      ]),
    );
  }
  lines.push('', `### Streams of ${summary.settings['shortStreamChunks']} chunks, 32 connections (closed loop)`, '');
  lines.push(row(['target', 'streams/s', '× bare proxy', 'p50 ms', 'p99 ms', 'hop CPU µs/stream']), row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const rps = field(summary.streaming, name, 'requestsPerSecond');
    lines.push(
      row([
        TARGET_LABELS[name],
        fixed(rps, 0),
        fixed(rps / field(summary.streaming, 'proxy', 'requestsPerSecond')),
        fixed(field(summary.streaming, name, 'p50Ms'), 0),
        fixed(field(summary.streaming, name, 'p99Ms'), 0),
        name === 'direct' ? '–' : fixed(field(summary.streaming, name, 'hopCpuMicrosPerRequest'), 0),
      ]),
    );
  }
  lines.push('', `### Latency at a fixed ${summary.settings['latencyRate']} requests/s over 32 connections (non-streaming)`, '');
  lines.push(row(['target', 'p50 ms', 'p99 ms', 'added p50 ms vs direct', 'added p99 ms vs direct']), row(['---', '---:', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const p50 = field(summary.latency, name, 'p50Ms');
    const p99 = field(summary.latency, name, 'p99Ms');
    lines.push(
      row([
        TARGET_LABELS[name],
        fixed(p50, 3),
        fixed(p99, 3),
        name === 'direct' ? '–' : fixed(p50 - direct(summary.latency, 'p50Ms'), 3),
        name === 'direct' ? '–' : fixed(p99 - direct(summary.latency, 'p99Ms'), 3),
      ]),
    );
  }
  lines.push('', `### Time to first token (${summary.settings['ttftConcurrency']} concurrent streams)`, '');
  lines.push(row(['target', 'p50 ms', 'p99 ms', 'added p50 ms vs direct']), row(['---', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const p50 = field(summary.ttft, name, 'p50Ms');
    lines.push(
      row([
        TARGET_LABELS[name],
        fixed(p50, 3),
        fixed(field(summary.ttft, name, 'p99Ms'), 3),
        name === 'direct' ? '–' : fixed(p50 - direct(summary.ttft, 'p50Ms'), 3),
      ]),
    );
  }
  lines.push(
    '',
    `### CPU per streamed chunk (${summary.settings['longStreamChunks']}-chunk streams, ${summary.settings['longStreamConcurrency']} at a time)`,
    '',
  );
  lines.push(row(['target', 'CPU µs per chunk', '× bare proxy', 'bytes per stream to the client']), row(['---', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const micros = field(summary.chunkCpu, name, 'cpuMicrosPerChunk');
    lines.push(
      row([
        name === 'direct' ? 'backend itself (reference)' : TARGET_LABELS[name],
        fixed(micros, 1),
        name === 'direct' ? '–' : fixed(micros / field(summary.chunkCpu, 'proxy', 'cpuMicrosPerChunk')),
        fixed(field(summary.chunkCpu, name, 'bytesPerStream'), 0),
      ]),
    );
  }
  lines.push(
    '',
    `### ${summary.settings['openStreams']} concurrent open streams (${summary.settings['openStreamChunks']} chunks, one every 200 ms; hops freshly started)`,
    '',
  );
  lines.push(row(['target', 'RSS before MB', 'peak RSS MB', 'completed', 'failed']), row(['---', '---:', '---:', '---:', '---:']));
  for (const name of ORDER) {
    const open = summary.openStreams[name];
    if (open) lines.push(row([TARGET_LABELS[name], fixed(open.startRssMb, 0), fixed(open.peakRssMb, 0), open.completed, open.failed]));
  }
  lines.push('', '### Memory over the leak check (three non-streaming requests to one 16-chunk stream, 32 connections)', '');
  lines.push(
    row(['target', 'requests', 'RSS MB at each checkpoint', 'heap used MB at each checkpoint', 'growth after first block MB', 'failed']),
    row(['---', '---:', '---', '---', '---:', '---:']),
  );
  for (const name of ORDER) {
    const leak = summary.leak[name];
    if (!leak) continue;
    const rss = leak.checkpoints.map((point) => fixed(point.rssMb, 0)).join(' → ');
    const heap = leak.checkpoints.map((point) => (point.heapUsedMb === null ? '?' : fixed(point.heapUsedMb, 0))).join(' → ');
    lines.push(row([TARGET_LABELS[name], leak.requests, rss, heap, fixed(leakGrowthMb(leak), 1), leak.failed]));
  }
  if (summary.storage !== undefined) lines.push('', ...storageTables(summary.storage));
  if (summary.toolLoop !== undefined) lines.push('', ...toolLoopTables(summary.toolLoop));
  if (summary.streamsAtScale !== undefined) lines.push('', ...streamsAtScaleTables(summary.streamsAtScale));
  return lines;
}

function storageTables(storage: StorageSummary): string[] {
  const stored = storage.storedBytes;
  const lines = [
    `### Stored responses: Redis memory per Codex turn (${stored.turns} chained turns; ${stored.toolsBytes} B tool list, ${stored.inputBytes} B in, ${stored.outputBytes} B out)`,
    '',
    row(['layout', 'bytes per turn', 'from the 2nd turn', 'records', 'item keys', 'shared blobs', 'keys per turn', 'read back identical']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
  ];
  const line = (label: string, result: StorageSummary['storedBytes']) =>
    row([
      label,
      result.bytesPerTurn,
      result.marginalBytesPerTurn,
      result.breakdown.records,
      result.breakdown.items,
      result.breakdown.blobs,
      fixed(result.keysPerTurn, 2),
      result.readBackIdentical ? 'yes' : 'NO',
    ]);
  if (storage.baselineStoredBytes !== undefined) lines.push(line('baseline checkout', storage.baselineStoredBytes));
  lines.push(line('this build', stored));
  const wait = storage.replicaWait;
  lines.push(
    '',
    `### What WAIT adds to a stored response (${wait.saves} saves of a Codex turn, one local replica, interleaved)`,
    '',
    row(['save', 'p50 ms', 'p99 ms']),
    row(['---', '---:', '---:']),
    row(['no replica acknowledgement', fixed(wait.withoutWaitP50Ms, 3), fixed(wait.withoutWaitP99Ms, 3)]),
    row(['WAIT 1 (acknowledged by the replica)', fixed(wait.withWaitP50Ms, 3), fixed(wait.withWaitP99Ms, 3)]),
    row(['added', fixed(wait.addedP50Ms, 3), fixed(wait.addedP99Ms, 3)]),
  );
  return lines;
}

/** An earlier run shown next to this one: a recorded summary and where it is kept. */
export interface EarlierRun {
  readonly label: string;
  /** The saved summary, relative to the repository root. */
  readonly file: string;
  readonly summary: BenchSummary;
}

function beforeAfterTable(runs: readonly { readonly label: string; readonly summary: BenchSummary }[]): string[] {
  const lines = [row(['measure', ...runs.map((run) => run.label)]), row(['---', ...runs.map(() => '---:')])];
  const each = (label: string, read: (summary: BenchSummary) => string) => lines.push(row([label, ...runs.map((run) => read(run.summary))]));
  for (const name of ORDER) each(`non-streaming requests/s, ${TARGET_LABELS[name]}`, (s) => fixed(field(s.throughput, name, 'requestsPerSecond'), 0));
  each('gateway embedded ÷ bare proxy', (s) => fixed(field(s.throughput, 'embedded', 'requestsPerSecond') / field(s.throughput, 'proxy', 'requestsPerSecond')));
  each('gateway + Redis ÷ bare proxy', (s) => fixed(field(s.throughput, 'cluster', 'requestsPerSecond') / field(s.throughput, 'proxy', 'requestsPerSecond')));
  each('hop CPU µs per non-streaming request, bare proxy', (s) => fixed(field(s.throughput, 'proxy', 'hopCpuMicrosPerRequest'), 0));
  each('hop CPU µs per non-streaming request, gateway embedded', (s) => fixed(field(s.throughput, 'embedded', 'hopCpuMicrosPerRequest'), 0));
  each('hop CPU per non-streaming request, gateway ÷ bare proxy', (s) =>
    fixed(field(s.throughput, 'embedded', 'hopCpuMicrosPerRequest') / field(s.throughput, 'proxy', 'hopCpuMicrosPerRequest')),
  );
  each('16-chunk streams/s, gateway embedded ÷ bare proxy', (s) =>
    fixed(field(s.streaming, 'embedded', 'requestsPerSecond') / field(s.streaming, 'proxy', 'requestsPerSecond')),
  );
  each('hop CPU per 16-chunk stream, gateway ÷ bare proxy', (s) =>
    fixed(field(s.streaming, 'embedded', 'hopCpuMicrosPerRequest') / field(s.streaming, 'proxy', 'hopCpuMicrosPerRequest')),
  );
  each('added p50 latency ms, embedded', (s) => fixed(field(s.latency, 'embedded', 'p50Ms') - field(s.latency, 'direct', 'p50Ms'), 3));
  each('added p50 latency ms, with Redis', (s) => fixed(field(s.latency, 'cluster', 'p50Ms') - field(s.latency, 'direct', 'p50Ms'), 3));
  each('added p50 time to first token ms, embedded', (s) => fixed(field(s.ttft, 'embedded', 'p50Ms') - field(s.ttft, 'direct', 'p50Ms'), 3));
  each('CPU µs per streamed chunk, gateway', (s) => fixed(field(s.chunkCpu, 'embedded', 'cpuMicrosPerChunk'), 1));
  each('CPU per streamed chunk, gateway ÷ bare proxy', (s) =>
    fixed(field(s.chunkCpu, 'embedded', 'cpuMicrosPerChunk') / field(s.chunkCpu, 'proxy', 'cpuMicrosPerChunk')),
  );
  each('peak RSS MB, 1,000 open streams, bare proxy', (s) => fixed(s.openStreams.proxy?.peakRssMb ?? Number.NaN, 0));
  each('peak RSS MB, 1,000 open streams, embedded (see the note on the memory phases)', (s) => fixed(s.openStreams.embedded?.peakRssMb ?? Number.NaN, 0));
  each('peak RSS MB, 1,000 open streams, with Redis', (s) => fixed(s.openStreams.cluster?.peakRssMb ?? Number.NaN, 0));
  each('RSS growth MB over the leak check, embedded', (s) => fixed(leakGrowthMb(s.leak.embedded), 1));
  return lines;
}

/** docs/benchmarks.md: how to reproduce, the setup, the targets, this run's tables, before/after. */
export function renderBenchmarksDoc(summary: BenchSummary, earlier: readonly EarlierRun[], notes: string): string {
  const checks = checkTargets(summary);
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (test/bench/run-bench.ts); edit test/bench/optimisations.md or the renderer, not this file. -->',
    '',
    'What the gateway adds on top of a Chat Completions backend, measured side by side against the backend',
    'direct and against a bare Node proxy hop (node:http in, undici pool out, bodies piped without parsing:',
    'the floor any Node gateway can reach).',
    '',
    '## Reproduce',
    '',
    '```sh',
    'npm run bench                # full run, 6–9 minutes; rewrites this file',
    'npm run bench -- --quick     # 1-minute smoke run; prints the JSON summary only',
    'npm run bench -- --pin       # hop under test on CPU 1, backend and load generator on CPU 0',
    '```',
    '',
    '## Setup',
    '',
    `- This run: ${summary.date}, Node ${summary.node}, ${summary.cpus}, gateway \`LOG_LEVEL=${summary.logLevel}\` (access log to /dev/null), ${summary.pinned ? 'hop under test pinned to CPU 1 (`--pin`)' : 'no CPU pinning'}, ${summary.durationSeconds} s in all.`,
    '- **One 2-core machine runs everything**: load generator, backend, the hop under test (and Redis). They compete for',
    '  the same two cores, so absolute numbers are low and drift between runs; the ratios measured in one run hold.',
    '  The targets are ratios for that reason.',
    '- Targets, started once and measured interleaved (direct, proxy, embedded, cluster, then again, ' + `${summary.settings['rounds']} rounds;`,
    '  each figure is the median across rounds), so machine drift cancels:',
    '  - **backend direct**: `test/bench/fast-backend.ts`, a minimal Chat Completions server with zero artificial latency',
    '    (pre-serialised answers; streamed chunks each written on their own event-loop turn, as a generating backend does);',
    '  - **bare Node proxy**: `test/bench/bare-proxy.ts`;',
    '  - **gateway, embedded**: `apps/gateway/src/main.ts` under Node 24, without `REDIS_URL`;',
    '  - **gateway + Redis**: the same with `REDIS_URL` (a local `redis-server --save "" --appendonly no`); its CPU figures',
    '    include the redis-server process.',
    '- Clients: [autocannon](https://github.com/mcollina/autocannon) for closed-loop throughput and the leak check (its',
    '  latency histogram has whole-millisecond resolution); small undici clients (`test/bench/load-clients.ts`) for the',
    '  fixed-rate latency (microseconds), time to first token and the many-open-streams test. Direct and proxy are sent a',
    '  Chat Completions request, the gateways the equivalent Responses request (`input: "Say hello."`).',
    '- The tool loop (WebSocket against HTTP) runs on an embedded gateway of its own, freshly started, so both',
    '  transports start from the same state.',
    '- The memory phases (open streams, then the leak check) run on freshly started hops, so they measure what',
    '  streams and requests cost rather than what the throughput phases left in the heap.',
    '- CPU is read from `/proc/<pid>/stat` (user + system, all threads) before and after each phase; RSS from',
    "  `/proc/<pid>/status`, sampled every 100 ms; heap used from the gateway's own `/metrics`.",
    '',
    '## Targets',
    '',
    row(['target', 'limit', 'measured', '']),
    row(['---', '---', '---:', '---']),
    ...checks.map((check) => row([check.target, check.limit, check.measured, check.pass ? 'pass' : '**FAIL**'])),
    '',
    '## This run',
    '',
    ...resultTables(summary),
    '',
  ];
  if (earlier.length > 0) {
    lines.push(
      '## Across the optimisation rounds',
      '',
      `${earlier.map((run) => `${run.label[0]?.toUpperCase()}${run.label.slice(1)}: ${run.summary.date} (\`${run.file}\`)`).join('; ')}; this run: ${summary.date}. Same command, same machine; compare ratios (see "Comparing the runs").`,
      '',
      ...beforeAfterTable([...earlier, { label: 'this run', summary }]),
      '',
    );
  }
  lines.push(notes.trim(), '');
  return lines.join('\n');
}
