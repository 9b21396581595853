/**
 * The Codex CLI (`codex exec`) against the gateway as a custom Responses provider over HTTP: the
 * backend first calls Codex's shell tool to create a file, then answers in text once it sees the
 * result. (WebSocket mode: codex-websocket.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CodexHome, CODEX_KEY, buildShellCall, countToolResults, createCodexHome, describeRun, readCodexEvents } from '../support/codex-cli.ts';
import { type ScriptedToolCall, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { chatContentText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const setup = useGatewayWithBackend();
const FINAL_MESSAGE = 'Created done.txt for you.';

let codex: CodexHome;
beforeEach(async () => {
  codex = await createCodexHome();
});
afterEach(async () => {
  await codex.remove();
});

describe('Codex CLI through the gateway', () => {
  it('runs a shell tool call from the backend, sends its result back, and prints the final answer', async () => {
    await codex.writeConfig(setup.gateway.baseURL);
    let shellCall: ScriptedToolCall | undefined;
    setup.backend.setHandler((request) => {
      if (countToolResults(request) > 0) return textAnswer(FINAL_MESSAGE);
      shellCall = buildShellCall(request, 'echo hi > done.txt');
      // Reasoning first: Codex asks for summaries and replays the reasoning item on the next request.
      return toolCallAnswer([shellCall], { fragment: 7, reasoning: 'The user wants a file; I will use the shell.' });
    });

    const run = await codex.run(['exec', '--skip-git-repo-check', '--json', '-C', codex.workdir, 'Create a file named done.txt containing hi.'], 50_000);
    const diagnostics = describeRun(run);

    expect(run.code, diagnostics).toBe(0);
    expect(await readFile(join(codex.workdir, 'done.txt'), 'utf8')).toBe('hi\n');
    const events = readCodexEvents(run);
    expect(events.find((event) => event.item?.type === 'command_execution' && event.type === 'item.completed')?.item?.exit_code, diagnostics).toBe(0);
    expect(events.filter((event) => event.item?.type === 'agent_message').map((event) => event.item?.text)).toEqual([FINAL_MESSAGE]);
    expect(
      events.some((event) => event.item?.type === 'reasoning'),
      diagnostics,
    ).toBe(true);
    expect(events.at(-1)?.type, diagnostics).toBe('turn.completed');

    const requests = setup.backend.chatRequests();
    expect(requests.length, diagnostics).toBe(2);
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${CODEX_KEY}`);
    const messages = requests[1]?.body?.messages ?? [];
    const assistant = messages.find((message) => message.role === 'assistant' && 'tool_calls' in message);
    expect(assistant).toMatchObject({ tool_calls: [{ id: 'call_codex_shell_1', function: { name: shellCall?.name, arguments: shellCall?.arguments } }] });
    const toolMessage = messages.find((message) => message.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call_codex_shell_1' });
    expect(chatContentText(toolMessage?.content)).toMatch(/exit(ed with)? code:? 0/i);
    // Codex's system prompt arrives as developer messages; chat templates want one leading system message.
    expect(messages[0]?.role).toBe('system');
    expect(messages.filter((message) => message.role === 'system' || message.role === 'developer')).toHaveLength(1);
  });
});
