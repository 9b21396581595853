/**
 * Vitest fixture for end-to-end tests: one scripted backend and one gateway process pointed at it
 * per test file (the machine has 2 cores), the backend reset before every test.
 */
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { type ScriptedBackend, type ScriptedBackendOptions, startScriptedBackend } from './scripted-backend.ts';
import { type StartedGateway, startGateway } from './start-gateway.ts';

export interface GatewayWithBackend {
  readonly backend: ScriptedBackend;
  readonly gateway: StartedGateway;
}

/** The API key e2e clients send; the gateway forwards it to the backend as `Bearer E2E_API_KEY`. */
export const E2E_API_KEY = 'sk-e2e-test-key';

export function useGatewayWithBackend(
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly backend?: ScriptedBackendOptions } = {},
): GatewayWithBackend {
  let backend: ScriptedBackend | undefined;
  let gateway: StartedGateway | undefined;

  beforeAll(async () => {
    backend = await startScriptedBackend(options.backend);
    gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'info', ...options.env } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await backend?.close();
  });
  beforeEach(() => {
    backend?.reset();
  });

  return {
    get backend(): ScriptedBackend {
      if (backend === undefined) throw new Error('the scripted backend is not started (beforeAll failed?)');
      return backend;
    },
    get gateway(): StartedGateway {
      if (gateway === undefined) throw new Error('the gateway is not started (beforeAll failed?)');
      return gateway;
    },
  };
}

export interface SseEvent {
  /** The `event:` line, if any. */
  readonly event: string | undefined;
  /** The parsed `data:` JSON. */
  readonly data: Record<string, unknown>;
}

/** POSTs a streaming Responses request with plain fetch and parses every SSE frame (for wire-level checks). */
export async function postResponsesStream(
  baseURL: string,
  body: Record<string, unknown>,
): Promise<{ status: number; contentType: string | null; events: SseEvent[]; text: string }> {
  const response = await fetch(`${baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await response.text();
  const events: SseEvent[] = [];
  for (const frame of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
  }
  return { status: response.status, contentType: response.headers.get('content-type'), events, text };
}

/** The text of a Chat message `content`: a string, or the joined `text` parts. */
export function chatContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/**
 * Asserts that `item` is a reasoning item carrying `text`. The gateway may expose backend reasoning
 * as a summary, as raw `reasoning_text` content, or both (§11.2 of the protocol notes): every form
 * present must hold the whole text, and at least one must be present.
 */
export function expectReasoningText(item: ResponseOutputItem | undefined, text: string): void {
  expect(item?.type).toBe('reasoning');
  if (item?.type !== 'reasoning') return;
  const forms = [item.summary.map((part) => part.text).join(''), (item.content ?? []).map((part) => part.text).join('')].filter((form) => form !== '');
  expect(forms.length).toBeGreaterThan(0);
  for (const form of forms) expect(form).toBe(text);
}
