import { z } from 'zod';
import type { ModelEntry } from './model-catalog.ts';

/**
 * What backends send on GET /models, parsed leniently: only `id` is required; every other field
 * is kept as sent (Chutes adds pricing, quantization, context length...). vLLM, SGLang and Ollama
 * send the OpenAI shape; some omit `created`/`owned_by`, which get neutral defaults.
 */
const modelSchema = z.looseObject({
  id: z.string().min(1),
  created: z.number().nullish(),
  owned_by: z.string().nullish(),
});

const modelListSchema = z.looseObject({ data: z.array(z.unknown()) });

/** Parse a `/models` body. Throws on a body that is not a list; skips individual malformed entries. */
export function parseModelList(body: unknown): ModelEntry[] {
  const list = modelListSchema.parse(body);
  const models: ModelEntry[] = [];
  const seen = new Set<string>();
  for (const item of list.data) {
    const parsed = modelSchema.safeParse(item);
    if (!parsed.success || seen.has(parsed.data.id)) continue;
    seen.add(parsed.data.id);
    models.push({ ...parsed.data, object: 'model', created: parsed.data.created ?? 0, owned_by: parsed.data.owned_by ?? 'system' });
  }
  return models;
}
