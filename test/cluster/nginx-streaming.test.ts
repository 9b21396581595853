import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { textAnswer } from '../support/scripted-backend.ts';
import { API_KEY, useCluster } from './cluster-test-helpers.ts';

const MODEL = 'org/model-a';
const fixture = useCluster({ backend: { models: [MODEL] }, cluster: { replicas: 2 } });

/** Streams one response through nginx with the openai SDK; returns the text and the event types seen. */
async function streamOnce(client: OpenAI): Promise<{ text: string; types: string[] }> {
  const stream = await client.responses.create({ model: MODEL, input: 'hi', stream: true });
  const types: string[] = [];
  let text = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
  }
  return { text, types };
}

function upstreamsIn(lines: readonly string[]): Set<string> {
  return new Set(lines.map((line) => /upstream=(\S+)/.exec(line)?.[1] ?? '').filter((address) => /^\d/.test(address)));
}

describe('nginx in front of the replicas', () => {
  it('streams SSE to an openai SDK client and spreads the streams over the replicas', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler(() => ({ ...textAnswer('streamed through nginx'), stepDelayMs: 5 }));
    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    for (let i = 0; i < 6; i += 1) {
      const { text, types } = await streamOnce(client);
      expect(text).toBe('streamed through nginx');
      expect(types.at(-1)).toBe('response.completed');
    }
    const used = upstreamsIn(cluster.accessLog().filter((line) => line.includes('POST /v1/responses')));
    expect(used.size).toBe(2);
  });

  it('delivers each event as it is produced, not buffered until the end', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler(() => ({ ...textAnswer('one two three four five'), stepDelayMs: 150 }));
    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    const stream = await client.responses.create({ model: MODEL, input: 'hi', stream: true });
    let firstDeltaAt = 0;
    let completedAt = 0;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta' && firstDeltaAt === 0) firstDeltaAt = performance.now();
      if (event.type === 'response.completed') completedAt = performance.now();
    }
    expect(firstDeltaAt).toBeGreaterThan(0);
    expect(completedAt - firstDeltaAt).toBeGreaterThan(400);
  });

  it('retries a dead replica on another one and sends traffic to a replica added later', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler(() => textAnswer('ok'));
    const client = new OpenAI({ apiKey: API_KEY, baseURL: cluster.baseURL, maxRetries: 0 });
    const added = await cluster.addReplica();
    await cluster.replicas[0]?.stop('SIGKILL');
    const before = cluster.accessLog().length;
    for (let i = 0; i < 6; i += 1) {
      const { types } = await streamOnce(client);
      expect(types.at(-1)).toBe('response.completed');
    }
    const used = upstreamsIn(cluster.accessLog().slice(before));
    expect(used.has(`127.0.0.1:${added.port}`)).toBe(true);
  });
});
