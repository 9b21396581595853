import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryResponseStore, type ResponseStore } from '@rgw/response-store';
import { type Response, type ResponseStreamEvent, parseResponsesRequest } from '@rgw/responses';
import { createBackgroundRuns, type BackgroundRunSpec } from '../../apps/gateway/src/stored/background-runs.ts';
import { buildQueuedResponse } from '../../apps/gateway/src/stored/build-queued-response.ts';
import { runTurn } from '../../apps/gateway/src/turns/run-turn.ts';
import { DEFAULT_MODEL_ID, httpError, startScriptedBackend, textAnswer, type BackendScript, type ScriptedBackend } from '../support/scripted-backend.ts';
import { createTurnTestDependencies, type TurnTestDependencies } from '../support/turn-test-dependencies.ts';

const OWNER = 'f'.repeat(64);
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

/** The backend holds its answer until `release()`: the run stays in progress until then. */
function gateBackend(script: BackendScript = textAnswer('done')) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrived = false;
  backend.setHandler(async () => {
    arrived = true;
    await gate;
    return script;
  });
  return { release: () => release(), arrived: () => arrived };
}

/** A background run of a real turn against the scripted backend, as the POST route starts one. */
function spec(store: ResponseStore<Response>, id: string, model = DEFAULT_MODEL_ID): BackgroundRunSpec {
  const request = parseResponsesRequest({ model, input: 'Say done.', background: true, stream: true });
  const queued = buildQueuedResponse(request, { responseId: id, createdAt: 1, model, createId: deps.createId, now: deps.now });
  return {
    owner: OWNER,
    queued,
    inputItems: [],
    ancestorIds: [],
    log,
    execute: (signal, sink, persist) => runTurn(deps, { request, apiKey: 'sk-test', responseId: id, createdAt: 1, signal, log, persist }, sink),
  };
}

async function eventsOf(events: AsyncGenerator<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const all: ResponseStreamEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

describe('background runs', () => {
  it('stores queued, then in progress, then the final response, and logs the turn renumbered after its own opening', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const gate = gateBackend(textAnswer('done'));
    const run = await runs.start(spec(store, 'resp_bg'));
    expect(await store.readStatus(OWNER, 'resp_bg')).toMatch(/queued|in_progress/);
    await vi.waitFor(async () => expect(await store.readStatus(OWNER, 'resp_bg')).toBe('in_progress'));
    await vi.waitFor(() => expect(gate.arrived()).toBe(true));
    gate.release();
    await run.finished;
    const stored = (await store.get(OWNER, 'resp_bg'))?.response as unknown as Response;
    expect(stored).toMatchObject({ id: 'resp_bg', status: 'completed', background: true, output: [{ type: 'message', content: [{ text: 'done' }] }] });
    const events = await eventsOf(run.events.follow());
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events.slice(0, 3).map((event) => event.type)).toEqual(['response.created', 'response.queued', 'response.in_progress']);
    expect((events[0] as { response: Response }).response.status).toBe('queued');
    expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { id: 'resp_bg', status: 'completed' } });
    expect(runs.find('resp_bg')).toBeUndefined();
  });

  it('aborts the backend call at once when cancelled on this replica, and keeps the cancelled status', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const gate = gateBackend();
    const run = await runs.start(spec(store, 'resp_bg'));
    await vi.waitFor(() => expect(gate.arrived()).toBe(true));
    expect((await store.cancel(OWNER, 'resp_bg')).kind).toBe('cancelled');
    expect(runs.abortLocal('resp_bg')).toBe(true);
    // The backend never answers: the run can only finish because its call was aborted.
    await run.finished;
    expect(await store.readStatus(OWNER, 'resp_bg')).toBe('cancelled');
    expect((await eventsOf(run.events.follow())).map((event) => event.type)).toEqual(['response.created', 'response.queued']);
    gate.release();
  });

  it('notices a cancel made elsewhere (only in the store) through its status poll', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2, cancelPollMs: 10 });
    const gate = gateBackend();
    const run = await runs.start(spec(store, 'resp_bg'));
    await vi.waitFor(() => expect(gate.arrived()).toBe(true));
    await store.cancel(OWNER, 'resp_bg'); // as the cancel route on another replica does
    await run.finished;
    expect(await store.readStatus(OWNER, 'resp_bg')).toBe('cancelled');
    gate.release();
  });

  it('stops a run whose response was deleted elsewhere, without re-creating it', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2, cancelPollMs: 10 });
    const gate = gateBackend();
    const run = await runs.start(spec(store, 'resp_bg'));
    await vi.waitFor(() => expect(gate.arrived()).toBe(true));
    await store.delete(OWNER, 'resp_bg');
    await run.finished;
    expect(await store.get(OWNER, 'resp_bg')).toBeNull();
    gate.release();
  });

  it('stores a run whose backend call fails as failed, with the error code and message, and logs the same failure events as a stream', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 7 });
    backend.enqueue(httpError(500, { message: 'The backend answered 500.', type: 'InternalServerError' }));
    const run = await runs.start(spec(store, 'resp_bg'));
    await run.finished;
    expect((await store.get(OWNER, 'resp_bg'))?.response).toMatchObject({
      status: 'failed',
      completed_at: 7,
      error: { code: 'upstream_error', message: expect.stringContaining('The backend answered 500.') as unknown },
    });
    const events = await eventsOf(run.events.follow());
    expect(events.map((event) => event.type)).toEqual(['response.created', 'response.queued', 'error', 'response.failed']);
    // The converter's error shape: flat fields plus OpenAI's nested `error`.
    expect(events[2]).toMatchObject({ code: 'upstream_error', param: null, error: { type: 'server_error', code: 'upstream_error' } });
  });

  it('stores a run for a model the catalogue does not know as failed with model_not_found', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 7 });
    const run = await runs.start(spec(store, 'resp_bg', 'no/such-model'));
    await run.finished;
    expect((await store.get(OWNER, 'resp_bg'))?.response).toMatchObject({ status: 'failed', error: { code: 'model_not_found' } });
    expect(backend.chatRequests()).toHaveLength(0);
  });

  it('on shutdown lets runs finish within the grace period, then stores the rest as failed', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const gate = gateBackend();
    const run = await runs.start(spec(store, 'resp_slow'));
    await vi.waitFor(() => expect(gate.arrived()).toBe(true));
    await runs.drain(20);
    expect((await store.get(OWNER, 'resp_slow'))?.response).toMatchObject({ status: 'failed', error: { code: 'server_shutting_down' } });
    expect((await eventsOf(run.events.follow())).slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
    gate.release();
  });

  it('refuses to start when the store cannot save the queued response', async () => {
    const store = createMemoryResponseStore<Response>({ maxEntries: 10, ttlSeconds: 60 });
    const failing: ResponseStore<Response> = { ...store, save: () => Promise.reject(new Error('down')) };
    const runs = createBackgroundRuns({ store: failing, now: () => 2 });
    await expect(runs.start(spec(store, 'resp_bg'))).rejects.toThrow('down');
    expect(runs.find('resp_bg')).toBeUndefined();
    expect(backend.chatRequests()).toHaveLength(0);
  });
});
