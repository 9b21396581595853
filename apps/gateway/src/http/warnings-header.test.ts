import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatWarningsHeader, MAX_WARNINGS_HEADER_BYTES, setWarningsHeader, WARNINGS_HEADER } from './warnings-header.ts';

describe('formatWarningsHeader', () => {
  it('is null when there is nothing to say', () => {
    expect(formatWarningsHeader([])).toBeNull();
  });

  it('is a JSON array of the warnings, readable back as they were', () => {
    const warnings = ["tools[0]: dropped hosted tool of type 'web_search'; it cannot run behind a Chat Completions backend.", 'second'];
    expect(JSON.parse(formatWarningsHeader(warnings) ?? '')).toEqual(warnings);
  });

  it('keeps text a client sent from forging headers or breaking the encoding: printable ASCII only, same text after JSON.parse', () => {
    const hostile = ["tools[1]: dropped a second tool named 'x\r\nSet-Cookie: session=stolen'; tool names must be unique.", 'café 😀 \u0000 \u007f'];
    const value = formatWarningsHeader(hostile) ?? '';
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(value)).toEqual(hostile);
  });

  it('stays under the size proxies accept, saying how many warnings were left out', () => {
    const warnings = Array.from({ length: 100 }, (_, index) => `warning ${index}: ${'x'.repeat(200)}`);
    const value = formatWarningsHeader(warnings) ?? '';
    expect(value.length).toBeLessThanOrEqual(MAX_WARNINGS_HEADER_BYTES);
    const entries = JSON.parse(value) as string[];
    const note = entries.at(-1) ?? '';
    const leftOut = Number(/^(\d+) more warnings in the gateway log$/.exec(note)?.[1]);
    expect(entries.length - 1 + leftOut).toBe(100);
    expect(entries[0]).toBe(warnings[0]);
  });

  it('cuts one very long warning instead of dropping it', () => {
    const [entry] = JSON.parse(formatWarningsHeader([`w ${'y'.repeat(5000)}`]) ?? '') as string[];
    expect(entry).toHaveLength(300);
    expect(entry?.endsWith('…')).toBe(true);
  });
});

describe('setWarningsHeader', () => {
  it('sets a header Node accepts and a client reads back, whatever the warnings hold', async () => {
    const warnings = ["tools[0]: 'ünïcödé\r\nX-Evil: 1'"];
    const server = createServer((_req, res) => {
      setWarningsHeader(res, warnings);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(response.headers.get('x-evil')).toBeNull();
      expect(JSON.parse(response.headers.get(WARNINGS_HEADER) ?? '')).toEqual(warnings);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
