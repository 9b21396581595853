/**
 * Running the real Codex CLI (`codex exec`, the @openai/codex devDependency) against a gateway under
 * test. Codex must never reach the network: HOME and CODEX_HOME are a fresh temp dir whose
 * config.toml names only the gateway, turns off the update check, analytics and the plugin/app
 * marketplaces (which otherwise `git clone` from github.com and call chatgpt.com), and any stray HTTPS
 * request is sent to a dead proxy.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_ID, type ReceivedRequest, type ScriptedToolCall } from './scripted-backend.ts';

const codexEntry = fileURLToPath(new URL('../../node_modules/@openai/codex/bin/codex.js', import.meta.url));

export const CODEX_KEY = 'sk-codex-e2e';

export interface CodexRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CodexEvent {
  readonly type: string;
  readonly item?: { readonly type: string; readonly text?: string; readonly exit_code?: number; readonly command?: string };
}

export interface CodexHome {
  readonly home: string;
  readonly workdir: string;
  /**
   * Writes config.toml for a provider `gw` at `baseURL`. `providerToml` is appended inside
   * `[model_providers.gw]` (e.g. `supports_websockets = true`), `topLevelToml` before any table, and
   * `extraToml` at the end (further tables).
   */
  writeConfig(baseURL: string, options?: { readonly providerToml?: string; readonly topLevelToml?: string; readonly extraToml?: string }): Promise<void>;
  run(args: readonly string[], timeoutMs: number): Promise<CodexRun>;
  remove(): Promise<void>;
}

export async function createCodexHome(): Promise<CodexHome> {
  const home = await mkdtemp(join(tmpdir(), 'codex-home-'));
  const workdir = await mkdtemp(join(tmpdir(), 'codex-work-'));
  return {
    home,
    workdir,
    writeConfig(baseURL, options = {}) {
      const config = `
model = "${DEFAULT_MODEL_ID}"
model_provider = "gw"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false
${options.topLevelToml ?? ''}

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
${options.providerToml ?? ''}
${options.extraToml ?? ''}
`;
      return writeFile(join(home, 'config.toml'), config);
    },
    run(args, timeoutMs) {
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
    },
    async remove() {
      await rm(home, { recursive: true, force: true });
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** The JSON lines `codex exec --json` printed. */
export function readCodexEvents(run: CodexRun): CodexEvent[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as CodexEvent);
}

export function describeRun(run: CodexRun): string {
  return `exit ${String(run.code)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4_000)}`;
}

interface ChatToolDefinition {
  readonly type: string;
  readonly function?: { readonly name: string; readonly parameters?: { readonly properties?: Record<string, { readonly type?: string }> } };
}

/** A call to whichever shell tool Codex offered (exec_command, shell, local_shell…), shaped to its parameters. */
export function buildShellCall(request: ReceivedRequest, command: string, id = 'call_codex_shell_1'): ScriptedToolCall {
  const tools = (request.body?.tools ?? []) as readonly ChatToolDefinition[];
  const shell = tools.find((entry) => ['exec_command', 'shell', 'local_shell', 'shell_command'].includes(entry.function?.name ?? ''));
  if (shell?.function === undefined) throw new Error(`no shell tool in the backend request: ${tools.map((entry) => entry.function?.name).join(', ')}`);
  const properties = shell.function.parameters?.properties ?? {};
  const argumentsObject =
    'cmd' in properties ? { cmd: command } : properties['command']?.type === 'array' ? { command: ['bash', '-lc', command] } : { command };
  return { id, name: shell.function.name, arguments: JSON.stringify(argumentsObject) };
}

/** How many tool results the backend request carries (one per tool call Codex ran). */
export function countToolResults(request: ReceivedRequest): number {
  return (request.body?.messages ?? []).filter((message) => message.role === 'tool').length;
}
