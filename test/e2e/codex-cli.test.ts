/**
 * The Codex CLI (`codex exec`) against the gateway as a custom Responses provider: the backend
 * first calls Codex's shell tool to create a file, then answers in text once it sees the result.
 *
 * Codex must never reach the network: HOME and CODEX_HOME are a fresh temp dir whose config.toml
 * names only the gateway, turns off the update check, analytics and the plugin/app marketplaces
 * (which otherwise `git clone` from github.com and call chatgpt.com), and any stray HTTPS request
 * is sent to a dead proxy.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, type ReceivedRequest, type ScriptedToolCall, textAnswer, toolCallAnswer } from '../support/scripted-backend.ts';
import { chatContentText, useGatewayWithBackend } from '../support/use-gateway-with-backend.ts';

const setup = useGatewayWithBackend();
const codexEntry = fileURLToPath(new URL('../../node_modules/@openai/codex/bin/codex.js', import.meta.url));
const CODEX_KEY = 'sk-codex-e2e';
const FINAL_MESSAGE = 'Created done.txt for you.';

let home: string;
let workdir: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'codex-home-'));
  workdir = await mkdtemp(join(tmpdir(), 'codex-work-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(workdir, { recursive: true, force: true });
});

function writeCodexConfig(baseURL: string): Promise<void> {
  const config = `
model = "${DEFAULT_MODEL_ID}"
model_provider = "gw"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[analytics]
enabled = false

# The plugin and app marketplaces sync from github.com / chatgpt.com at start-up.
[features]
plugins = false
remote_plugin = false
apps = false

[model_providers.gw]
name = "Responses gateway under test"
base_url = "${baseURL}"
wire_api = "responses"
env_key = "GW_KEY"
`;
  return writeFile(join(home, 'config.toml'), config);
}

interface CodexRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCodex(args: readonly string[], timeoutMs: number): Promise<CodexRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [codexEntry, ...args], {
      cwd: workdir,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: home,
        CODEX_HOME: home,
        GW_KEY: CODEX_KEY,
        // Anything Codex tries to fetch over HTTPS dies at a closed port; the gateway is plain HTTP on loopback.
        HTTPS_PROXY: 'http://127.0.0.1:9',
        https_proxy: 'http://127.0.0.1:9',
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
      },
      // Codex exec appends piped stdin to the prompt; give it none.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface ChatToolDefinition {
  readonly type: string;
  readonly function?: { readonly name: string; readonly parameters?: { readonly properties?: Record<string, { readonly type?: string }> } };
}

/** A call to whichever shell tool Codex offered (exec_command, shell, local_shell…), shaped to its parameters. */
function buildShellCall(request: ReceivedRequest, command: string): ScriptedToolCall {
  const tools = (request.body?.tools ?? []) as readonly ChatToolDefinition[];
  const shell = tools.find((entry) => ['exec_command', 'shell', 'local_shell', 'shell_command'].includes(entry.function?.name ?? ''));
  if (shell?.function === undefined) throw new Error(`no shell tool in the backend request: ${tools.map((entry) => entry.function?.name).join(', ')}`);
  const properties = shell.function.parameters?.properties ?? {};
  const argumentsObject =
    'cmd' in properties ? { cmd: command } : properties['command']?.type === 'array' ? { command: ['bash', '-lc', command] } : { command };
  return { id: 'call_codex_shell_1', name: shell.function.name, arguments: JSON.stringify(argumentsObject) };
}

function hasToolResult(request: ReceivedRequest): boolean {
  return (request.body?.messages ?? []).some((message) => message.role === 'tool');
}

describe('Codex CLI through the gateway', () => {
  it('runs a shell tool call from the backend, sends its result back, and prints the final answer', async () => {
    await writeCodexConfig(setup.gateway.baseURL);
    let shellCall: ScriptedToolCall | undefined;
    setup.backend.setHandler((request) => {
      if (hasToolResult(request)) return textAnswer(FINAL_MESSAGE);
      shellCall = buildShellCall(request, 'echo hi > done.txt');
      // Reasoning first: Codex asks for summaries and replays the reasoning item on the next request.
      return toolCallAnswer([shellCall], { fragment: 7, reasoning: 'The user wants a file; I will use the shell.' });
    });

    const run = await runCodex(['exec', '--skip-git-repo-check', '--json', '-C', workdir, 'Create a file named done.txt containing hi.'], 50_000);
    const diagnostics = `exit ${String(run.code)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4_000)}`;

    expect(run.code, diagnostics).toBe(0);
    expect(await readFile(join(workdir, 'done.txt'), 'utf8')).toBe('hi\n');
    const events = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; item?: { type: string; text?: string; exit_code?: number } });
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
