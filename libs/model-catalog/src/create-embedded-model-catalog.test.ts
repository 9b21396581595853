import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEmbeddedModelCatalog } from './create-embedded-model-catalog.ts';
import type { ModelEntry } from './model-catalog.ts';

function models(...ids: string[]): ModelEntry[] {
  return ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' }));
}

/** A backend whose answers the test sets; counts the calls. */
function scriptedListing() {
  let next: () => Promise<ModelEntry[]> = async () => models('a');
  const listing = {
    calls: 0,
    set(answer: () => Promise<ModelEntry[]>) {
      next = answer;
    },
    listModels: async () => {
      listing.calls += 1;
      return next();
    },
  };
  return listing;
}

describe('createEmbeddedModelCatalog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads the list at start and refreshes it every period', async () => {
    const backend = scriptedListing();
    const catalog = createEmbeddedModelCatalog({ listModels: backend.listModels, refreshMs: 60_000 });
    await catalog.start();
    expect(catalog.list()?.map((m) => m.id)).toEqual(['a']);
    backend.set(async () => models('a', 'b'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(catalog.get('b')?.id).toBe('b');
    expect(backend.calls).toBe(2);
    await catalog.close();
  });

  it('answers unchecked and never throws when the backend fails at start, then recovers on retry', async () => {
    const backend = scriptedListing();
    backend.set(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    const catalog = createEmbeddedModelCatalog({ listModels: backend.listModels, refreshMs: 60_000 });
    await expect(catalog.start()).resolves.toBeUndefined();
    expect(catalog.resolve('a')).toEqual({ kind: 'unchecked' });
    expect(catalog.ageSeconds()).toBeNull();
    backend.set(async () => models('a'));
    await vi.advanceTimersByTimeAsync(2_000); // retried well before the refresh period
    expect(catalog.resolve('A')).toEqual({ kind: 'found', id: 'a' });
    await catalog.close();
  });

  it('keeps the last list when a refresh fails or returns an empty list', async () => {
    const backend = scriptedListing();
    const catalog = createEmbeddedModelCatalog({ listModels: backend.listModels, refreshMs: 10_000 });
    await catalog.start();
    backend.set(async () => []);
    await vi.advanceTimersByTimeAsync(10_000);
    // The refresh that got the empty list is over (it says why it kept the list), and the list stayed.
    expect(backend.calls).toBe(2);
    expect(catalog.lastError()).toBe('the backend listed no models');
    expect(catalog.list()?.map((m) => m.id)).toEqual(['a']);
    backend.set(async () => {
      throw new Error('503');
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.calls).toBe(3);
    expect(catalog.lastError()).toBe('503');
    expect(catalog.list()?.map((m) => m.id)).toEqual(['a']);
    await catalog.close();
  });

  it('reports the age of the list since its last successful fetch', async () => {
    const backend = scriptedListing();
    const catalog = createEmbeddedModelCatalog({ listModels: backend.listModels, refreshMs: 60_000 });
    await catalog.start();
    backend.set(async () => {
      throw new Error('503');
    });
    await vi.advanceTimersByTimeAsync(61_000);
    expect(catalog.ageSeconds()).toBe(61);
    await catalog.close();
  });

  it('stops refreshing once closed', async () => {
    const backend = scriptedListing();
    const catalog = createEmbeddedModelCatalog({ listModels: backend.listModels, refreshMs: 1_000 });
    await catalog.start();
    await catalog.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.calls).toBe(1);
  });
});
