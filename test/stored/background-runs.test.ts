import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryResponseStore } from '@rgw/response-store';
import type { Response, ResponseStreamEvent } from '@rgw/responses';
import { createBackgroundRuns } from '../../apps/gateway/src/stored/background-runs.ts';
import { UpstreamError } from '@rgw/errors';

const OWNER = 'f'.repeat(64);
const log = pino({ level: 'silent' });

function queuedResponse(id: string): Response {
  return { id, object: 'response', status: 'queued', background: true, output: [], created_at: 1, model: 'm', usage: null } as unknown as Response;
}

function completed(id: string, text: string): Response {
  return {
    ...queuedResponse(id),
    status: 'completed',
    output: [{ id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] }],
  } as unknown as Response;
}

/** A backend call that produces its answer once `release` is called, or stops when aborted. */
function gatedExecution(id: string) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let sawAbort = false;
  let waiting = false;
  const execute = async function* (signal: AbortSignal): AsyncGenerator<ResponseStreamEvent> {
    yield { type: 'response.created', response: { ...queuedResponse(id), status: 'in_progress' }, sequence_number: 0 } as ResponseStreamEvent;
    yield { type: 'response.in_progress', response: { ...queuedResponse(id), status: 'in_progress' }, sequence_number: 1 } as ResponseStreamEvent;
    waiting = true;
    await Promise.race([gate, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))]);
    if (signal.aborted) {
      sawAbort = true;
      throw new Error('aborted');
    }
    yield { type: 'response.completed', response: completed(id, 'done'), sequence_number: 2 } as ResponseStreamEvent;
  };
  return { execute, release: () => release(), sawAbort: () => sawAbort, waiting: async () => waiting };
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met in 1 s');
}

describe('background runs', () => {
  it('stores queued, then in progress, then the final response, and streams renumbered events', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const backend = gatedExecution('resp_bg');
    const run = await runs.start({ owner: OWNER, queued: queuedResponse('resp_bg'), inputItems: [], ancestorIds: [], execute: backend.execute, log });
    await waitFor(async () => (await store.readStatus(OWNER, 'resp_bg')) === 'in_progress');
    backend.release();
    await run.finished;
    expect((await store.get(OWNER, 'resp_bg'))?.response).toMatchObject({ status: 'completed', output: [{ id: 'msg_1' }] });
    const events: ResponseStreamEvent[] = [];
    for await (const event of run.events.follow()) events.push(event);
    expect(events.map((event) => [event.type, event.sequence_number])).toEqual([
      ['response.created', 0],
      ['response.queued', 1],
      ['response.in_progress', 2],
      ['response.completed', 3],
    ]);
    expect((events[0] as { response: Response }).response.status).toBe('queued');
    expect(runs.find('resp_bg')).toBeUndefined();
  });

  it('aborts the backend call at once when cancelled on this replica, and keeps the cancelled status', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const backend = gatedExecution('resp_bg');
    const run = await runs.start({ owner: OWNER, queued: queuedResponse('resp_bg'), inputItems: [], ancestorIds: [], execute: backend.execute, log });
    await waitFor(backend.waiting);
    expect((await store.cancel(OWNER, 'resp_bg')).kind).toBe('cancelled');
    expect(runs.abortLocal('resp_bg')).toBe(true);
    await run.finished;
    expect(backend.sawAbort()).toBe(true);
    expect(await store.readStatus(OWNER, 'resp_bg')).toBe('cancelled');
  });

  it('notices a cancel made elsewhere (only in the store) through its status poll', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2, cancelPollMs: 10 });
    const backend = gatedExecution('resp_bg');
    const run = await runs.start({ owner: OWNER, queued: queuedResponse('resp_bg'), inputItems: [], ancestorIds: [], execute: backend.execute, log });
    await waitFor(backend.waiting);
    await store.cancel(OWNER, 'resp_bg'); // as the cancel route on another replica does
    await run.finished;
    expect(backend.sawAbort()).toBe(true);
    expect(await store.readStatus(OWNER, 'resp_bg')).toBe('cancelled');
  });

  it('stops a run whose response was deleted elsewhere, without re-creating it', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2, cancelPollMs: 10 });
    const backend = gatedExecution('resp_bg');
    const run = await runs.start({ owner: OWNER, queued: queuedResponse('resp_bg'), inputItems: [], ancestorIds: [], execute: backend.execute, log });
    await waitFor(backend.waiting);
    await store.delete(OWNER, 'resp_bg');
    await run.finished;
    expect(backend.sawAbort()).toBe(true);
    expect(await store.get(OWNER, 'resp_bg')).toBeNull();
  });

  it('stores a run whose backend call fails as failed, with the error code and message', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 7 });
    const run = await runs.start({
      owner: OWNER,
      queued: queuedResponse('resp_bg'),
      inputItems: [],
      ancestorIds: [],
      log,
      execute: async function* () {
        yield* [];
        throw new UpstreamError('The backend answered 500.', { code: 'server_error' });
      },
    });
    await run.finished;
    expect((await store.get(OWNER, 'resp_bg'))?.response).toMatchObject({
      status: 'failed',
      completed_at: 7,
      error: { code: 'server_error', message: 'The backend answered 500.' },
    });
    const types: string[] = [];
    for await (const event of run.events.follow()) types.push(event.type);
    expect(types).toEqual(['response.created', 'response.queued', 'error', 'response.failed']);
  });

  it('on shutdown lets runs finish within the grace period, then stores the rest as failed', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const runs = createBackgroundRuns({ store, now: () => 2 });
    const backend = gatedExecution('resp_slow');
    await runs.start({ owner: OWNER, queued: queuedResponse('resp_slow'), inputItems: [], ancestorIds: [], execute: backend.execute, log });
    await waitFor(async () => (await store.readStatus(OWNER, 'resp_slow')) === 'in_progress');
    await runs.drain(20);
    expect((await store.get(OWNER, 'resp_slow'))?.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
  });

  it('refuses to start when the store cannot save the queued response', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const failing = { ...store, save: () => Promise.reject(Object.assign(new Error('down'), { status: 503 })) };
    const runs = createBackgroundRuns({ store: failing, now: () => 2 });
    const backend = gatedExecution('resp_bg');
    await expect(
      runs.start({ owner: OWNER, queued: queuedResponse('resp_bg'), inputItems: [], ancestorIds: [], execute: backend.execute, log }),
    ).rejects.toThrow('down');
    expect(runs.find('resp_bg')).toBeUndefined();
  });
});
