import fc from 'fast-check';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertValidResponsesEventSequence } from '../../libs/responses/src/test-support/assert-valid-responses-event-sequence.ts';
import {
  DEFAULT_MODEL_ID,
  done,
  finishChunk,
  httpError,
  roleChunk,
  type ScriptedBackend,
  startScriptedBackend,
  textAnswer,
  textChunks,
  usageChunk,
} from '../support/scripted-backend.ts';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy.ts';
import { type InProcessGateway, startInProcessGateway, waitFor } from './support/in-process-gateway.ts';
import type { AnswerBody } from '../support/json-bodies.ts';
import { parseSseData } from '../support/read-sse-events.ts';

const KEY = 'sk-backend-faults';
const TIMEOUT_MS = 400;
let backend: ScriptedBackend;
let proxy: FaultyProxy;
/** Breaker effectively off, so faults in one test do not refuse the next. */
let gateway: InProcessGateway;
/** Breaker at 3 failures, for the storm tests. */
let touchy: InProcessGateway;

beforeAll(async () => {
  backend = await startScriptedBackend();
  proxy = await startFaultyProxy({ host: '127.0.0.1', port: Number(new URL(backend.url).port) });
  const common = {
    LOG_LEVEL: 'warn',
    UPSTREAM_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
    UPSTREAM_IDLE_TIMEOUT_MS: String(TIMEOUT_MS),
    UPSTREAM_MAX_RETRIES: '2',
  };
  [gateway, touchy] = await Promise.all([
    startInProcessGateway({ ...common, UPSTREAM_BASE_URL: `http://127.0.0.1:${proxy.port}/v1`, CIRCUIT_BREAKER_FAILURE_THRESHOLD: '10000' }),
    startInProcessGateway({ ...common, UPSTREAM_BASE_URL: backend.url, CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3', CIRCUIT_BREAKER_OPEN_SECONDS: '60' }),
  ]);
});
afterAll(async () => {
  await Promise.all([gateway?.stop(), touchy?.stop()]);
  await proxy?.close();
  await backend?.close();
});
beforeEach(() => {
  backend.reset();
  proxy.setMode('pass');
  proxy.resetNext(0);
});

interface Answer {
  status: number;
  headers: Headers;
  /** The JSON body; undefined for SSE answers. */
  json: AnswerBody | undefined;
  /** SSE events, parsed; empty for JSON answers. */
  events: { type: string; [field: string]: unknown }[];
  elapsedMs: number;
}

async function post(target: InProcessGateway, options: { stream?: boolean } = {}): Promise<Answer> {
  const startedAt = performance.now();
  const response = await fetch(`${target.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'hi', stream: options.stream === true }),
  });
  const text = await response.text();
  const isSse = response.headers.get('content-type')?.startsWith('text/event-stream') === true;
  const events = isSse ? parseSseData<{ type: string }>(text) : [];
  return {
    status: response.status,
    headers: response.headers,
    json: isSse ? undefined : (JSON.parse(text) as AnswerBody),
    events,
    elapsedMs: performance.now() - startedAt,
  };
}

const VALID_STREAM = 'a valid Responses event sequence';

/**
 * An answer as the property states it, to compare with what it allows: a refusal with its JSON body
 * (which must be the error envelope), a streamed 200 as VALID_STREAM once
 * assertValidResponsesEventSequence passed (it throws otherwise), a JSON 200 with the Response status.
 */
function shapeOf(answer: Answer, stream: boolean): unknown {
  if (answer.status !== 200) return { refused: answer.json };
  if (!stream) return { answered: answer.json?.status };
  assertValidResponsesEventSequence(answer.events as unknown as ResponseStreamEvent[]);
  return { streamed: VALID_STREAM };
}

function textOf(answer: Answer): string {
  return answer.events
    .filter((event) => event.type === 'response.output_text.delta')
    .map((event) => event.delta as string)
    .join('');
}

describe('backend 5xx and 429', () => {
  it('a 500 storm gives 502s until the breaker opens, then 503 circuit_open with retry-after and no backend calls', async () => {
    backend.setHandler(() => httpError(500, { message: 'boom', type: 'InternalServerError' }));
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i += 1) answers.push(await post(touchy, { stream: i % 2 === 0 }));
    expect(answers.map((answer) => answer.status)).toEqual([502, 502, 502, 503, 503, 503, 503, 503]);
    expect(answers[0]!.json?.error?.type).toBe('server_error');
    expect(answers[3]!.json?.error?.code).toBe('circuit_open');
    expect(Number(answers[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
    // 500 is not retried (only 502/503/504 and connection errors are): one call per failure.
    expect(backend.chatRequests()).toHaveLength(3);
  });

  it('passes a backend 429 back with its Retry-After, and 429s never open the breaker', async () => {
    const fresh = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn', CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2' });
    try {
      backend.setHandler(() =>
        httpError(429, { message: 'Too many requests', type: 'RateLimitError' }, { headers: { 'retry-after': '7', 'retry-after-ms': '6500' } }),
      );
      for (let i = 0; i < 6; i += 1) {
        const answer = await post(fresh, { stream: i % 2 === 0 });
        expect(answer.status).toBe(429);
        expect(answer.headers.get('retry-after')).toBe('7');
        expect(answer.headers.get('retry-after-ms')).toBe('6500');
        expect(answer.json?.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      }
      expect(backend.chatRequests()).toHaveLength(6); // not retried either
      backend.setHandler(() => textAnswer('fine'));
      expect((await post(fresh)).status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });

  it('retries a 429 that says when (retry-after-ms / retry-after within 5 s), after that delay, before any byte reached the client', async () => {
    const arrivals: number[] = [];
    backend.setHandler(() => {
      arrivals.push(performance.now());
      return arrivals.length === 1
        ? httpError(429, { message: 'slow down', type: 'RateLimitError' }, { headers: { 'retry-after-ms': '400' } })
        : textAnswer('after the wait');
    });
    const answer = await post(gateway, { stream: true });
    expect(answer.status).toBe(200);
    expect(textOf(answer)).toBe('after the wait');
    expect(arrivals).toHaveLength(2);
    // Our own first backoff is at most 100 ms: a 400 ms gap is the backend's wait.
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(400);

    backend.reset();
    const times: number[] = [];
    backend.setHandler(() => {
      times.push(performance.now());
      return times.length === 1 ? httpError(429, { message: 'slow down', type: 'RateLimitError' }, { headers: { 'retry-after': '1' } }) : textAnswer('ok');
    });
    expect((await post(gateway)).status).toBe(200);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it('does not retry a 429 without a delay, or with one over the cap: the client gets it, with the header, at once', async () => {
    backend.setHandler(() => httpError(429, { message: 'slow down', type: 'RateLimitError' }));
    expect((await post(gateway)).status).toBe(429);
    expect(backend.chatRequests()).toHaveLength(1);

    backend.reset();
    backend.setHandler(() => httpError(429, { message: 'slow down', type: 'RateLimitError' }, { headers: { 'retry-after': '30' } }));
    const answer = await post(gateway);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('30');
    expect(answer.elapsedMs).toBeLessThan(5_000);
    expect(backend.chatRequests()).toHaveLength(1);
  });

  it('waits a 503’s retry-after-ms instead of its own backoff', async () => {
    const arrivals: number[] = [];
    backend.setHandler(() => {
      arrivals.push(performance.now());
      return arrivals.length === 1 ? httpError(503, { message: 'loading the model' }, { headers: { 'retry-after-ms': '500' } }) : textAnswer('loaded');
    });
    const answer = await post(gateway);
    expect(answer.status).toBe(200);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(500);
  });

  it('retries 502/503/504 a bounded number of times with growing, jittered delays, and succeeds when the backend recovers', async () => {
    backend.enqueue(httpError(503, { message: 'warming up' }), httpError(502, { message: 'bad gateway' }), textAnswer('recovered'));
    const recovered = await post(gateway, { stream: true });
    expect(recovered.status).toBe(200);
    expect(textOf(recovered)).toBe('recovered');
    expect(backend.chatRequests()).toHaveLength(3);

    backend.reset();
    const arrivals: number[] = [];
    backend.setHandler(() => {
      arrivals.push(performance.now());
      return httpError(503, { message: 'still down' });
    });
    const failed = await post(gateway);
    expect(failed.status).toBe(502);
    expect(arrivals).toHaveLength(3); // 1 + UPSTREAM_MAX_RETRIES
    const gaps = arrivals.slice(1).map((at, index) => at - arrivals[index]!);
    // Full jitter on 100 ms, 200 ms: each gap within [50 %, 100 %] of its base (plus scheduling slack).
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[0]).toBeLessThan(100 + 150);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeLessThan(200 + 150);
  });

  it('retries connection resets before the backend answered, and gives up with a 502 after the bound', async () => {
    backend.setHandler(() => textAnswer('through'));
    proxy.dropAll();
    await waitFor(() => proxy.open() === 0);
    proxy.resetNext(2);
    const before = proxy.accepted();
    const answer = await post(gateway, { stream: true });
    expect(answer.status).toBe(200);
    expect(textOf(answer)).toBe('through');
    expect(proxy.accepted() - before).toBe(3);

    proxy.setMode('reset');
    proxy.dropAll();
    await waitFor(() => proxy.open() === 0);
    const failed = await post(gateway);
    expect(failed.status).toBe(502);
    expect(failed.json?.error?.code).toBe('upstream_connection_error');
  });

  it('never retries once output reached the client: a stream cut mid-answer ends in response.failed', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('partial answer'), finishChunk('stop'), done()], cutAfterSteps: 3 }, textAnswer('must not be used'));
    const answer = await post(gateway, { stream: true });
    expect(answer.status).toBe(200);
    expect(textOf(answer)).toBe('partial '); // role chunk + 'part' + 'ial '
    expect(answer.events.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } });
    expect(backend.chatRequests()).toHaveLength(1);
  });
});

describe('backend hangs', () => {
  it('a backend that never sends headers gets a 504 after the headers timeout, not retried', async () => {
    for (const stream of [false, true]) {
      backend.reset();
      backend.enqueue({ hang: 'before-headers' }, textAnswer('must not be used'));
      const answer = await post(gateway, { stream });
      expect(answer.status).toBe(504);
      expect(answer.json?.error).toMatchObject({ type: 'server_error', code: 'upstream_timeout' });
      expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
      expect(backend.chatRequests()).toHaveLength(1);
    }
  });

  it('a stream that goes silent mid-answer ends in response.failed after the idle timeout, and the connection closes', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('thinking...')], hang: 'after-steps' });
    const answer = await post(gateway, { stream: true });
    expect(answer.status).toBe(200);
    expect(textOf(answer)).toBe('thinking...');
    expect(answer.events.at(-1)).toMatchObject({ type: 'response.failed', response: { error: { code: expect.any(String) as unknown } } });
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('a backend slower than the headers timeout is cut off with a 504 even though it would answer later', async () => {
    backend.enqueue({ headersDelayMs: TIMEOUT_MS * 3, ...textAnswer('late') });
    const answer = await post(gateway);
    expect(answer.status).toBe(504);
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS * 3);
  });
});

describe('malformed backend output', () => {
  it('a malformed JSON chunk mid-stream ends the stream in response.failed (output kept), before any output it is a 502', async () => {
    backend.enqueue({
      steps: [roleChunk(), ...textChunks('good '), { kind: 'raw', text: 'data: {"choices":[{"delta":{"content":"bro\n\n' }, ...textChunks('never'), done()],
    });
    const mid = await post(gateway, { stream: true });
    expect(mid.status).toBe(200);
    expect(textOf(mid)).toBe('good ');
    expect(mid.events.at(-1)).toMatchObject({ type: 'response.failed', response: { error: { code: 'server_error' } } });

    backend.enqueue({ steps: [roleChunk(), { kind: 'raw', text: 'data: not json at all\n\n' }, done()] });
    const early = await post(gateway, { stream: true });
    expect(early.status).toBe(502);
    expect(early.json?.error?.type).toBe('server_error');
  });

  it('SSE noise (comments, unknown fields, blank events, CRLF) around good chunks is ignored', async () => {
    backend.enqueue({
      steps: [
        { kind: 'raw', text: ': keep-alive\r\n\r\nretry: 1000\nid: 7\nevent: ping\ndata: {"object":"chat.completion.chunk","choices":[]}\n\n' },
        roleChunk(),
        ...textChunks('clean'),
        { kind: 'raw', text: ':\n\n\n\n' },
        finishChunk('stop'),
        usageChunk({ prompt: 1, completion: 1 }),
        done(),
      ],
    });
    const answer = await post(gateway, { stream: true });
    expect(textOf(answer)).toBe('clean');
    expect(answer.events.at(-1)?.type).toBe('response.completed');
  });

  it('a non-streamed answer that is not JSON is a 502 upstream_malformed_response', async () => {
    backend.enqueue({ httpError: { status: 200, body: '<html>proxy login</html>' } });
    const answer = await post(gateway);
    expect(answer.status).toBe(502);
    expect(answer.json?.error?.code).toBe('upstream_malformed_response');
  });

  it('one event larger than the 1 MB SSE buffer fails the response cleanly instead of losing data', async () => {
    const huge = 'y'.repeat(1_100_000);
    backend.enqueue({
      steps: [roleChunk(), ...textChunks('before '), { kind: 'delta', delta: { content: huge } }, ...textChunks(' after'), finishChunk('stop'), done()],
    });
    const answer = await post(gateway, { stream: true });
    expect(answer.status).toBe(200);
    expect(textOf(answer)).toBe('before ');
    const terminal = answer.events.at(-1);
    expect(terminal).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } });
    expect(JSON.stringify(terminal)).toContain('larger than');
  });
});

describe('streams that never send [DONE]', () => {
  it('after a finish_reason, the end of the connection completes the response', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('no done'), finishChunk('stop'), usageChunk({ prompt: 2, completion: 2 })] });
    const answer = await post(gateway, { stream: true });
    expect(textOf(answer)).toBe('no done');
    expect(answer.events.at(-1)?.type).toBe('response.completed');
  });

  it('without a finish_reason, a clean end of the connection is a failure, never a completed answer', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('cut short')] });
    const answer = await post(gateway, { stream: true });
    expect(textOf(answer)).toBe('cut short');
    expect(answer.events.at(-1)).toMatchObject({ type: 'response.failed' });
  });

  it('after a finish_reason, a backend that keeps the connection open still ends the client stream within the idle timeout', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('open end'), finishChunk('stop'), usageChunk({ prompt: 2, completion: 2 })], hang: 'after-steps' });
    const answer = await post(gateway, { stream: true });
    expect(textOf(answer)).toBe('open end');
    expect(['response.completed', 'response.failed']).toContain(answer.events.at(-1)?.type);
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
  });
});

describe('any mix of backend behaviour (property)', () => {
  it('every request ends in a valid Responses stream or JSON, or an error envelope: never a 500, a hang or a stream without its terminal event', async () => {
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.string({ maxLength: 12 }).map((text) => ({ kind: 'delta', delta: { content: text } }) as const) },
      { weight: 2, arbitrary: fc.string({ maxLength: 12 }).map((text) => ({ kind: 'delta', delta: { reasoning_content: text } }) as const) },
      { weight: 1, arbitrary: fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter', 'weird').map((reason) => finishChunk(reason)) },
      { weight: 1, arbitrary: fc.constant(usageChunk({ prompt: 3, completion: 4 })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('data: {oops\n\n', ': ping\n\n', 'data: {"choices":[]}\n\n', 'event: x\n\n').map((text) => ({ kind: 'raw', text }) as const),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'error', error: { message: 'mid-stream failure' } } as const) },
    );
    const script = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          steps: fc.array(step, { maxLength: 12 }).map((steps) => [roleChunk(), ...steps]),
          end: fc.constantFrom('done', 'close', 'cut'),
        }),
      },
      { weight: 2, arbitrary: fc.constantFrom(400, 401, 404, 413, 422, 429, 500, 502, 503).map((status) => ({ status })) },
    );
    await fc.assert(
      fc.asyncProperty(script, fc.boolean(), fc.constantFrom(undefined, undefined, 61), async (chosen, stream, piece) => {
        backend.reset();
        const built =
          'status' in chosen
            ? httpError(chosen.status, { message: `scripted ${chosen.status}` })
            : {
                steps: chosen.end === 'done' ? [...chosen.steps, done()] : chosen.steps,
                ...(chosen.end === 'cut' ? { cutAfterSteps: chosen.steps.length } : {}),
                ...(piece === undefined ? {} : { writeBytesPerPiece: piece }),
              };
        // Retried statuses get the same answer again.
        backend.setHandler(() => built);
        const answer = await post(gateway, { stream });
        expect(answer.status).not.toBe(500);
        expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 3_000);
        const nullableString = expect.toSatisfy((value: unknown) => value === null || typeof value === 'string') as unknown;
        const envelope = {
          error: { message: expect.any(String) as unknown, type: expect.any(String) as unknown, param: nullableString, code: nullableString },
        };
        expect(shapeOf(answer, stream)).toBeOneOf([{ refused: envelope }, { streamed: VALID_STREAM }, { answered: 'completed' }, { answered: 'incomplete' }]);
      }),
      { numRuns: 50 },
    );
  }, 60_000);
});
