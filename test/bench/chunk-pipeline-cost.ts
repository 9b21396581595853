/**
 * CPU per streamed chunk of the gateway's translation pipeline alone, in one process, without HTTP:
 * SSE bytes → readChatStreamEvents → the converter's push step → the observer →
 * encodeSseEvent. Steadier than the end-to-end figure on a shared machine (no sockets, no scheduler
 * between processes), so it is the one to watch while optimising the per-chunk path.
 *
 *   node scripts/node24.mjs test/bench/chunk-pipeline-cost.ts [chunks=1000] [streams=200]
 */
import { encodeSseEvent } from '../../apps/gateway/src/http/event-stream.ts';
import { createTurnObserver } from '../../apps/gateway/src/turns/observe-turn-events.ts';
import { createGatewayMetrics } from '@rgw/observability';
import { type ResponseStreamEvent, type ResponsesRequest, createResponseEventConverter, parseResponsesRequest } from '@rgw/responses';
import { readChatStreamEvents } from '@rgw/upstream';

const chunks = Number(process.argv[2] ?? 1000);
const streams = Number(process.argv[3] ?? 200);
const encoder = new TextEncoder();

function frame(delta: Record<string, unknown>, finishReason: string | null = null): Uint8Array {
  const chunk = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'bench-model',
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
  };
  return encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`);
}

/** The backend's stream as the socket delivers it: one read per chunk. */
const wire: Uint8Array[] = [
  frame({ role: 'assistant', content: '' }),
  ...Array.from({ length: chunks }, (_, index) => frame({ content: `t${index} ` })),
  frame({}, 'stop'),
  encoder.encode(
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'bench-model', choices: [], usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks } })}\n\n`,
  ),
  encoder.encode('data: [DONE]\n\n'),
];

async function* socket(): AsyncGenerator<Uint8Array> {
  yield* wire;
}

const request = parseResponsesRequest({ model: 'bench-model', input: 'Say hello.', stream: true }, { maxInputItems: 2000 }) as ResponsesRequest;
const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
let counter = 0;
const createId = (prefix: string) => `${prefix}_${(counter += 1).toString(16).padStart(48, '0')}`;

async function translateOneStream(): Promise<number> {
  const context = { responseId: createId('resp'), createdAt: 1, request, model: 'bench-model', toolNames: new Map(), createId, now: () => 1 };
  const observe = createTurnObserver({
    metrics,
    model: 'bench-model',
    startedAt: performance.now(),
    upstreamStartedAt: performance.now(),
    onFinished: () => {},
  });
  let bytes = 0;
  const deliver = (events: readonly ResponseStreamEvent[]) => {
    for (const event of events) {
      observe(event);
      bytes += encodeSseEvent(event).length;
    }
  };
  const converter = createResponseEventConverter(context);
  deliver(converter.start());
  for await (const chatEvent of readChatStreamEvents(socket(), { maxEventBytes: 1 << 20 })) {
    deliver(converter.push(chatEvent));
    if (converter.ended) break;
  }
  if (!converter.ended) deliver(converter.end());
  return bytes;
}

for (let warm = 0; warm < 20; warm += 1) await translateOneStream();
const before = process.cpuUsage();
let bytes = 0;
for (let index = 0; index < streams; index += 1) bytes += await translateOneStream();
const used = process.cpuUsage(before);
const micros = (used.user + used.system) / (streams * chunks);
process.stdout.write(`${JSON.stringify({ chunks, streams, cpuMicrosPerChunk: Number(micros.toFixed(2)), bytesPerStream: bytes / streams })}\n`);
