import type { ModelEntry, ModelResolution } from './model-catalog.ts';

const MAX_SUGGESTIONS = 5;

/** Index of a model list for lookups: exact id, and lower-cased id → backend id. */
export interface ModelIndex {
  readonly models: readonly ModelEntry[];
  readonly byId: ReadonlyMap<string, ModelEntry>;
  readonly byLowerId: ReadonlyMap<string, ModelEntry>;
}

export function indexModels(models: readonly ModelEntry[]): ModelIndex {
  const byId = new Map<string, ModelEntry>();
  const byLowerId = new Map<string, ModelEntry>();
  for (const model of models) {
    byId.set(model.id, model);
    // First wins when two ids differ only by case, so resolution is stable across refreshes.
    if (!byLowerId.has(model.id.toLowerCase())) byLowerId.set(model.id.toLowerCase(), model);
  }
  return { models, byId, byLowerId };
}

/** Exact match, else case-insensitive, else up to 5 suggestions (substring matches first, then edit distance). */
export function resolveModel(index: ModelIndex | null, requested: string): ModelResolution {
  if (index === null) return { kind: 'unchecked' };
  const exact = index.byId.get(requested) ?? index.byLowerId.get(requested.toLowerCase());
  if (exact !== undefined) return { kind: 'found', id: exact.id };
  return { kind: 'unknown', suggestions: suggestModels(index.models, requested) };
}

function suggestModels(models: readonly ModelEntry[], requested: string): string[] {
  const wanted = requested.toLowerCase();
  // Compare with the id's last path segment too: clients often omit the "org/" prefix.
  const scored = models.map((model) => {
    const id = model.id.toLowerCase();
    const tail = id.slice(id.lastIndexOf('/') + 1);
    const substring = wanted.length >= 3 && (id.includes(wanted) || wanted.includes(tail));
    const distance = Math.min(editDistance(wanted, id), editDistance(wanted, tail));
    return { id: model.id, substring, distance };
  });
  // Edit-distance suggestions must be close relative to the length, or they are noise.
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return scored
    .filter((entry) => entry.substring || entry.distance <= limit)
    .sort((a, b) => Number(b.substring) - Number(a.substring) || a.distance - b.distance || a.id.localeCompare(b.id))
    .slice(0, MAX_SUGGESTIONS)
    .map((entry) => entry.id);
}

/** Levenshtein distance, two rows. Strings are model ids (short), so O(n·m) is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
