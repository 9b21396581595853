/**
 * CPU of each stage of a non-streamed `POST /v1/responses`, in one process, without sockets: where
 * the gateway's per-request microseconds above the bare proxy go (docs/benchmarks.md). Each stage runs
 * `iterations` times after a warm-up; figures are µs per request.
 *
 *   node scripts/node24.mjs test/bench/request-stage-cost.ts [iterations=20000] [stage name filter]
 */
import { createApiKeyHasher, createMemoryResponseStore, type StoredResponseObject } from '@rgw/response-store';
import { createGatewayMetrics, createLogger } from '@rgw/observability';
import {
  type Response,
  type ResponseStreamEvent,
  convertChatCompletionToStreamEvents,
  convertChatEventsToResponsesEvents,
  convertResponsesRequestToChat,
  parseChatCompletion,
  parseResponsesRequest,
} from '@rgw/responses';
import { createTurnObserver } from '../../apps/gateway/src/turns/observe-turn-events.ts';

const iterations = Number(process.argv[2] ?? 20_000);
const only = process.argv[3];

const requestBody = JSON.stringify({ model: 'bench-model', input: 'Say hello.' });
const completionBody = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_767_225_600,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark backend.' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});
const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
let counter = 0;
const createId = (prefix: string) => `${prefix}_${(counter += 1).toString(16).padStart(48, '0')}`;
const request = parseResponsesRequest(JSON.parse(requestBody), { maxInputItems: 2000 });
const completion = parseChatCompletion(JSON.parse(completionBody))!;

/** The answer side as the gateway runs a JSON answer (executeResponse): one synchronous conversion, the observer tap over its events. */
function convertCompletion(): Response {
  const context = { responseId: createId('resp'), createdAt: 1, request, model: 'bench-model', toolNames: new Map(), createId, now: () => 1 };
  const observe = createTurnObserver({
    metrics,
    model: 'bench-model',
    startedAt: performance.now(),
    upstreamStartedAt: performance.now(),
    onFinished: () => {},
  });
  const events = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), context);
  for (const event of events) observe(event);
  return (events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>).response;
}

const sampleResponse = convertCompletion();
const store = createMemoryResponseStore({ maxEntries: 10_000, ttlSeconds: 3600 });
const ownerOf = createApiKeyHasher('b'.repeat(64));
const logger = createLogger({ level: 'info', name: 'gateway', destination: { write: () => {} } });

const stages: Record<string, () => unknown> = {
  'request: JSON.parse + parseResponsesRequest': () => parseResponsesRequest(JSON.parse(requestBody), { maxInputItems: 2000 }),
  'request: convert to Chat + JSON.stringify': () => JSON.stringify(convertResponsesRequestToChat(request, { model: 'bench-model' }).chatRequest),
  'completion: JSON.parse + parseChatCompletion': () => parseChatCompletion(JSON.parse(completionBody)),
  'answer: converter + observer tap': () => convertCompletion(),
  'answer: JSON.stringify(Response)': () => JSON.stringify(sampleResponse),
  'store: owner HMAC': () => ownerOf('bench-key'),
  'store: memory save': () =>
    store.save('owner', { response: { ...sampleResponse, id: createId('resp') } as unknown as StoredResponseObject, inputItems: [], ancestorIds: [] }),
  'access log line': () =>
    logger.info(
      {
        req: { id: 'abc', method: 'POST', url: '/v1/responses' },
        request_id: 'abc',
        route: '/v1/responses',
        status: 200,
        duration_ms: 1.2,
        model: 'bench-model',
        stream: false,
        response_id: sampleResponse.id,
        response_status: 'completed',
        ttft_ms: 1,
        input_tokens: 12,
        output_tokens: 7,
      },
      'request completed',
    ),
  'metrics: http duration timer + in-flight gauge': () => {
    const stop = metrics.httpRequestDuration.startTimer();
    metrics.httpRequestsInFlight.inc({ route: '/v1/responses' });
    metrics.httpRequestsInFlight.dec({ route: '/v1/responses' });
    stop({ route: '/v1/responses', method: 'POST', status: '200' });
  },
};

for (const [name, stage] of Object.entries(stages)) {
  if (only !== undefined && !name.includes(only)) continue;
  for (let index = 0; index < 2000; index += 1) await stage();
  const before = process.cpuUsage();
  for (let index = 0; index < iterations; index += 1) await stage();
  const used = process.cpuUsage(before);
  process.stdout.write(`${(((used.user + used.system) / iterations).toFixed(1)).padStart(7)} µs  ${name}\n`);
}
