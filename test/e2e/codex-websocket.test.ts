/**
 * The real Codex CLI (`codex exec`) with a provider that sets `supports_websockets = true`: every
 * turn over one WebSocket, later turns chained with previous_response_id and only their new input;
 * remote compaction v2 (`remote_compaction = "v2"`) over the same socket; the 426 fallback when
 * WebSocket mode is off; and a long backend prefill that Codex's stream idle timer survives thanks to
 * keepalive events.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CodexHome, buildShellCall, countToolResults, createCodexHome, describeRun, readCodexEvents } from '../support/codex-cli.ts';
import {
  type BackendScript,
  type ReceivedRequest,
  done,
  finishChunk,
  roleChunk,
  textAnswer,
  toolCallAnswer,
  toolCallChunks,
  usageChunk,
} from '../support/scripted-backend.ts';
import type { StartedGateway } from '../support/start-gateway.ts';
import { chatContentText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

// Keepalives every 0.3 s: the prefill test gives Codex a 1.5 s idle timeout.
const setup = useGatewayWithBackend({ env: { WEBSOCKET_KEEPALIVE_SECONDS: '0.3' } });
const httpOnly = useGatewayWithBackend({ env: { WEBSOCKET_ENABLED: 'false' } });
const WEBSOCKETS = 'supports_websockets = true';
const FINAL = 'Both files are written.';
const SUMMARY = 'SUMMARY: one.txt is written; two.txt is next.';

let codex: CodexHome;
/** Where each gateway's log stood when the test began: a test reads only its own lines. */
const logMarks = new Map<StartedGateway, number>();
beforeEach(async () => {
  codex = await createCodexHome();
  for (const gateway of [setup.gateway, httpOnly.gateway]) logMarks.set(gateway, gateway.logs.length);
});
afterEach(async () => {
  await codex.remove();
});

/** This test's log records of `gateway`. */
function ownRecords(gateway: StartedGateway): Record<string, unknown>[] {
  return gateway.logs
    .slice(logMarks.get(gateway) ?? 0)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function records(gateway: StartedGateway, message: string): Record<string, unknown>[] {
  return ownRecords(gateway).filter((record) => record['msg'] === message);
}

/** Access-log lines of HTTP `POST /v1/responses` requests. */
function httpCreates(gateway: StartedGateway): Record<string, unknown>[] {
  return ownRecords(gateway).filter((record) => {
    const req = record['req'] as { method?: string; url?: string } | undefined;
    return req?.method === 'POST' && req.url === '/v1/responses';
  });
}

function messagesOf(request: ReceivedRequest | undefined): { role: string; text: string; calls: number }[] {
  return (request?.body?.messages ?? []).map((message) => ({
    role: message.role,
    text: chatContentText((message as { content?: unknown }).content),
    calls: ((message as { tool_calls?: unknown[] }).tool_calls ?? []).length,
  }));
}

/** Two shell calls in sequence (one per backend turn), then the final answer. */
function twoStepTask(request: ReceivedRequest): BackendScript {
  const results = countToolResults(request);
  if (results === 0) return toolCallAnswer([buildShellCall(request, 'echo one > one.txt', 'call_one')]);
  if (results === 1) return toolCallAnswer([buildShellCall(request, 'echo two > two.txt', 'call_two')]);
  return textAnswer(FINAL);
}

const PROMPT = 'Write one.txt containing one, then two.txt containing two, one command at a time.';

describe('Codex over one WebSocket', () => {
  it('runs a task needing two tool calls in sequence entirely over one socket: later turns chain with previous_response_id and only new input, and the backend still gets the whole conversation', async () => {
    await codex.writeConfig(setup.gateway.baseURL, { providerToml: WEBSOCKETS });
    setup.backend.setHandler(twoStepTask);
    const run = await codex.run(['exec', '--skip-git-repo-check', '--json', '-C', codex.workdir, PROMPT], 60_000);
    const diagnostics = describeRun(run);

    expect(diagnostics).toMatch(/^exit 0\n/);
    expect(await readFile(join(codex.workdir, 'one.txt'), 'utf8')).toBe('one\n');
    expect(await readFile(join(codex.workdir, 'two.txt'), 'utf8')).toBe('two\n');
    expect(
      readCodexEvents(run)
        .filter((event) => event.item?.type === 'agent_message')
        .map((event) => event.item?.text),
    ).toEqual([FINAL]);

    // One socket, no HTTP creates.
    const gateway = setup.gateway;
    const connections = records(gateway, 'websocket connection opened');
    expect(connections).toHaveLength(1);
    expect(httpCreates(gateway)).toEqual([]);
    const connection = String(connections[0]?.['request_id']);
    const turns = records(gateway, 'websocket turn');
    expect(turns.every((turn) => String(turn['request_id']).startsWith(`${connection}.`))).toBe(true);
    // Codex warms the socket up first (generate: false), then runs three model turns.
    expect(turns.map((turn) => turn['kind'])).toEqual(['warmup', 'generate', 'generate', 'generate']);
    expect(turns.map((turn) => turn['outcome'])).toEqual(['completed', 'completed', 'completed', 'completed']);
    // Every turn after the warm-up continues the one before it, sending only what is new: the second
    // and third model turns carry just the tool output.
    for (let index = 1; index < turns.length; index += 1) expect(turns[index]?.['previous_response_id']).toBe(turns[index - 1]?.['response_id']);
    expect(turns.slice(2).map((turn) => turn['input_items'])).toEqual([1, 1]);

    // The backend got the whole conversation every time.
    const requests = setup.backend.chatRequests();
    expect(requests).toHaveLength(3);
    const last = messagesOf(requests[2]);
    expect(last[0]?.role).toBe('system');
    expect(last.some((message) => message.role === 'user' && message.text.includes(PROMPT))).toBe(true);
    expect(last.filter((message) => message.role === 'assistant').map((message) => message.calls)).toEqual([1, 1]);
    expect(last.filter((message) => message.role === 'tool')).toHaveLength(2);
  });

  it('compacts remotely over the socket when the provider declares remote_compaction = "v2": one compaction item, carried back as the summary', async () => {
    await codex.writeConfig(setup.gateway.baseURL, {
      providerToml: WEBSOCKETS,
      topLevelToml: 'model_auto_compact_token_limit = 1000\nmodel_context_window = 200000',
      extraToml: '[model_providers.gw.capabilities]\nremote_compaction = "v2"',
    });
    setup.backend.setHandler((request) => {
      const messages = messagesOf(request);
      if (messages.at(-1)?.text.includes('CONTEXT CHECKPOINT COMPACTION')) return textAnswer(SUMMARY);
      if (messages.some((message) => message.text.includes(SUMMARY))) return textAnswer(FINAL);
      // A first answer whose usage is over Codex's auto-compaction limit.
      return {
        steps: [
          roleChunk(),
          ...toolCallChunks([buildShellCall(request, 'echo one > one.txt', 'call_one')]),
          finishChunk('tool_calls'),
          usageChunk({ prompt: 150_000, completion: 20 }),
          done(),
        ],
      };
    });
    const run = await codex.run(['exec', '--skip-git-repo-check', '--json', '-C', codex.workdir, PROMPT], 60_000);
    const diagnostics = describeRun(run);

    expect(diagnostics).toMatch(/^exit 0\n/);
    expect(
      readCodexEvents(run)
        .filter((event) => event.item?.type === 'agent_message')
        .map((event) => event.item?.text),
    ).toEqual([FINAL]);
    const turns = records(setup.gateway, 'websocket turn').filter((turn) => turn['kind'] === 'compaction');
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ outcome: 'completed' });
    expect(httpCreates(setup.gateway)).toEqual([]);
    // After the compaction, the conversation the backend sees carries the summary, not the old turns.
    const after = messagesOf(setup.backend.chatRequests().at(-1));
    expect(after.some((message) => message.text.includes(SUMMARY))).toBe(true);
    expect(after.filter((message) => message.role === 'tool')).toHaveLength(0);
  });

  it('survives a backend prefill longer than its stream idle timeout: keepalive events reach it, so nothing is retried', async () => {
    await codex.writeConfig(setup.gateway.baseURL, { providerToml: `${WEBSOCKETS}\nstream_idle_timeout_ms = 1500\nstream_max_retries = 0` });
    setup.backend.setHandler((request) => {
      const script = twoStepTask(request);
      // The first model turn thinks for 4 s before its first byte.
      return countToolResults(request) === 0 ? { ...script, headersDelayMs: 4_000 } : script;
    });
    const run = await codex.run(['exec', '--skip-git-repo-check', '--json', '-C', codex.workdir, PROMPT], 60_000);
    const diagnostics = describeRun(run);

    expect(diagnostics).toMatch(/^exit 0\n/);
    expect(
      readCodexEvents(run)
        .filter((event) => event.item?.type === 'agent_message')
        .map((event) => event.item?.text),
    ).toEqual([FINAL]);
    expect(setup.backend.chatRequests()).toHaveLength(3);
    expect(records(setup.gateway, 'websocket connection opened')).toHaveLength(1);
  });
});

describe('Codex against a gateway with WebSocket mode off', () => {
  it('falls back to HTTP after one 426 and completes the task', async () => {
    await codex.writeConfig(httpOnly.gateway.baseURL, { providerToml: WEBSOCKETS });
    httpOnly.backend.setHandler(twoStepTask);
    const run = await codex.run(['exec', '--skip-git-repo-check', '--json', '-C', codex.workdir, PROMPT], 60_000);
    const diagnostics = describeRun(run);

    expect(diagnostics).toMatch(/^exit 0\n/);
    expect(await readFile(join(codex.workdir, 'two.txt'), 'utf8')).toBe('two\n');
    expect(records(httpOnly.gateway, 'websocket connection opened')).toEqual([]);
    expect(httpCreates(httpOnly.gateway).length).toBeGreaterThanOrEqual(3);
  });
});
