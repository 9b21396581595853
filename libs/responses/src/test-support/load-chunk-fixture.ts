import { readFileSync } from 'node:fs';
import { parseChatChunk } from '../chat-chunk-schema.ts';
import type { ChatStreamEvent } from '../converter-contract.ts';

const fixturesDirectory = new URL('../__fixtures__/', import.meta.url);

/**
 * Reads `__fixtures__/<name>.chunks.txt` into the events the upstream layer would hand the converter:
 * one `data:` payload per line (chunks, error payloads as `error`), `[DONE]` as `done`. Lines starting
 * with `#` say where the fixture comes from; every fixture opens with one, so nothing made up passes
 * for a recording (__fixtures__/README.md).
 */
export function loadChunkFixture(name: string): ChatStreamEvent[] {
  const text = readFileSync(new URL(`${name}.chunks.txt`, fixturesDirectory), 'utf8');
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (!lines[0]?.startsWith('# ')) throw new Error(`Fixture ${name} must open with a '# ' line naming its source (or saying it is hand-written).`);
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line): ChatStreamEvent => {
      if (line.trim() === '[DONE]') return { type: 'done' };
      const parsed = parseChatChunk(JSON.parse(line));
      return parsed.success ? { type: 'chunk', chunk: parsed.chunk } : { type: 'error', error: parsed.error };
    });
}

/** The `# ` header lines of a fixture, for tests that check every fixture is labelled. */
export function readFixtureHeader(name: string): string[] {
  const text = readFileSync(new URL(`${name}.chunks.txt`, fixturesDirectory), 'utf8');
  return text.split('\n').filter((line) => line.startsWith('# '));
}

export async function* streamOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}
