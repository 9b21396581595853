import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ServiceUnavailableError } from '@rgw/errors';
import { createMemoryResponseStore } from '@rgw/response-store';
import { type Response, type ResponseStreamEvent, parseResponsesRequest } from '@rgw/responses';
import {
  DEFAULT_MODEL_ID,
  done,
  finishChunk,
  roleChunk,
  type ScriptedBackend,
  startScriptedBackend,
  textAnswer,
  textChunks,
} from '../../../../test/support/scripted-backend.ts';
import { createTurnTestDependencies, type TurnTestDependencies } from '../../../../test/support/turn-test-dependencies.ts';
import { runTurn } from './run-turn.ts';
import type { Turn } from './turn.ts';
import type { FinalResponse, TurnSink } from './turn-sink.ts';

const OWNER = 'a'.repeat(64);
const log = pino({ level: 'silent' });
let backend: ScriptedBackend;
let deps: TurnTestDependencies;

beforeAll(async () => {
  backend = await startScriptedBackend();
  deps = await createTurnTestDependencies(backend.url);
});
afterAll(async () => {
  await deps.close();
  await backend.close();
});
afterEach(() => backend.reset());

function turnFor(body: Record<string, unknown>, extra: Partial<Turn> = {}): Turn {
  return {
    request: parseResponsesRequest({ model: DEFAULT_MODEL_ID, input: 'hi', ...body }),
    apiKey: 'sk-turn-test',
    responseId: 'resp_turn',
    createdAt: 1,
    signal: new AbortController().signal,
    log,
    ...extra,
  };
}

function recordingSink(
  streaming: boolean,
  onWrite?: (event: ResponseStreamEvent) => void,
): TurnSink & { events: ResponseStreamEvent[]; finals: FinalResponse[] } {
  const events: ResponseStreamEvent[] = [];
  const finals: FinalResponse[] = [];
  return {
    streaming,
    events,
    finals,
    write(event) {
      onWrite?.(event);
      events.push(event);
    },
    finish(final) {
      finals.push(final);
    },
  };
}

describe('runTurn', () => {
  it('writes every event in order and stores the final Response before its terminal event reaches the sink', async () => {
    backend.enqueue(textAnswer('Hello there.'));
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    let storedWhenTerminalWritten: unknown = 'not written';
    const sink = recordingSink(true, (event) => {
      if (event.type === 'response.completed') storedWhenTerminalWritten = store.get(OWNER, 'resp_turn');
    });
    const final = await runTurn(deps, turnFor({ stream: true }, { persist: { store, owner: OWNER, inputItems: [], ancestorIds: [] } }), sink);
    expect(sink.events.map((event) => event.sequence_number)).toEqual(sink.events.map((_, index) => index));
    expect(sink.events.at(-1)?.type).toBe('response.completed');
    expect(await storedWhenTerminalWritten).toMatchObject({ response: { id: 'resp_turn', status: 'completed' } });
    expect(sink.finals).toEqual([final]);
    expect(JSON.parse(final.json)).toEqual(final.response);
    expect(backend.chatRequests()[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('makes one non-streamed backend call for a sink that takes the answer whole', async () => {
    backend.enqueue(textAnswer('Whole.'));
    const sink = recordingSink(false);
    const final = await runTurn(deps, turnFor({}), sink);
    expect(final.response).toMatchObject({ status: 'completed', output: [{ content: [{ text: 'Whole.' }] }] });
    expect(backend.chatRequests()[0]?.body?.stream).toBe(false);
    expect(sink.events.at(-1)?.type).toBe('response.completed');
  });

  it('stops reading the backend once the terminal event is out, even if the backend keeps the connection open', async () => {
    backend.enqueue({ steps: [roleChunk(), ...textChunks('done'), finishChunk('stop'), done(), ...textChunks('late')], hang: 'after-steps' });
    const sink = recordingSink(true);
    const final = await runTurn(deps, turnFor({ stream: true }), sink);
    expect(final.response.output).toMatchObject([{ content: [{ text: 'done' }] }]);
  });

  it('ends a stream the backend cut with error + response.failed, and counts it for the breaker', async () => {
    // Its own breaker: no other test may see (or leave) an open one.
    const own = await createTurnTestDependencies(backend.url, { failureThreshold: 2 });
    const cut = { steps: [roleChunk(), ...textChunks('partial answer')], cutAfterSteps: 3 };
    backend.enqueue(cut, cut);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const sink = recordingSink(true);
      const final = await runTurn(own, turnFor({ stream: true }), sink);
      expect(sink.events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(final.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    }
    // Threshold 2: the third turn is refused without a backend call.
    const calls = backend.chatRequests().length;
    await expect(runTurn(own, turnFor({ stream: true }), recordingSink(true))).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(backend.chatRequests()).toHaveLength(calls);
    await own.close();
  });

  it('refuses an unknown model before any event and without calling the backend', async () => {
    const sink = recordingSink(true);
    await expect(runTurn(deps, turnFor({ model: 'no/such-model', stream: true }), sink)).rejects.toBeInstanceOf(NotFoundError);
    expect(sink.events).toEqual([]);
    expect(backend.chatRequests()).toHaveLength(0);
  });
});
