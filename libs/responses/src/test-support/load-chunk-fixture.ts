import { readFileSync } from 'node:fs';
import { parseChatChunk } from '../chat-chunk-schema.ts';
import type { ChatStreamEvent } from '../converter-contract.ts';

const fixturesDirectory = new URL('../__fixtures__/', import.meta.url);

/**
 * Reads `__fixtures__/<name>.chunks.txt` (one `data:` payload per line, `[DONE]` as a line) into the
 * events the upstream layer would hand the converter: chunks, error payloads as `error`, `[DONE]` as `done`.
 */
export function loadChunkFixture(name: string): ChatStreamEvent[] {
  const text = readFileSync(new URL(`${name}.chunks.txt`, fixturesDirectory), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): ChatStreamEvent => {
      if (line.trim() === '[DONE]') return { type: 'done' };
      const parsed = parseChatChunk(JSON.parse(line));
      return parsed.success ? { type: 'chunk', chunk: parsed.chunk } : { type: 'error', error: parsed.error };
    });
}

export async function* streamOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}
