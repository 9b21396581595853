/**
 * Vitest fixture for end-to-end tests: one scripted backend and one gateway process pointed at it
 * per test file (the machine has 2 cores), the backend reset before every test.
 */
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { type ScriptedBackend, type ScriptedBackendOptions, startScriptedBackend } from './scripted-backend.ts';
import { type StartedGateway, startGateway } from './start-gateway.ts';
import { parseSseEvents, type SseEvent } from './read-sse-events.ts';

export interface GatewayWithBackend {
  readonly backend: ScriptedBackend;
  readonly gateway: StartedGateway;
}

/** The API key e2e clients send; the gateway forwards it to the backend as `Bearer E2E_API_KEY`. */
export type { SseEvent };

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
  const events = parseSseEvents(text);
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
