/**
 * The compose load balancer (deploy/nginx/nginx.conf) run for real with the local nginx: the same
 * file, its includes read from deploy/nginx instead of /etc/nginx, on a free port. No Docker here,
 * so Docker's DNS (127.0.0.11) does not answer and `gateway` never resolves: exactly "no replica up",
 * which must reach the client as a JSON envelope, not nginx's HTML page.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findBinary } from '../../scripts/cluster-local.ts';
import { findFreePort } from '../support/redis-server.ts';
import { readText, repositoryPath } from './deploy-files.ts';

let nginx: ChildProcess | undefined;
let workDir = '';
let url = '';
const stderr: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'rgw-compose-nginx-'));
  const port = await findFreePort();
  const config = readText('deploy/nginx/nginx.conf')
    .replaceAll('/etc/nginx/', repositoryPath('deploy/nginx/'))
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`)
    // Node's 'pipe' stdio is a socket, which nginx cannot open as /dev/stdout: log to files instead.
    .replaceAll('/dev/stdout', join(workDir, 'access.log'))
    .replaceAll('/dev/stderr', join(workDir, 'error.log'))
    // Writable places for a non-root test run; everything else is the shipped file.
    .replace(
      /http \{/,
      `http {\n    client_body_temp_path ${workDir}/body; proxy_temp_path ${workDir}/proxy; fastcgi_temp_path ${workDir}/fastcgi; uwsgi_temp_path ${workDir}/uwsgi; scgi_temp_path ${workDir}/scgi;`,
    );
  const configPath = join(workDir, 'nginx.conf');
  writeFileSync(configPath, config);
  nginx = spawn(findBinary('nginx'), ['-p', workDir, '-c', configPath, '-e', join(workDir, 'error.log'), '-g', `daemon off; pid ${workDir}/nginx.pid;`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  nginx.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  url = `http://127.0.0.1:${port}`;
  await vi.waitFor(
    async () => {
      if (nginx?.exitCode !== null) throw new Error(`nginx exited: ${stderr.join('')}`);
      const status = (await fetch(`${url}/nginx-health`)).status;
      if (status !== 200) throw new Error(`nginx answers ${status}`);
    },
    { timeout: 10_000, interval: 50 },
  );
});

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = once(nginx, 'exit');
    nginx.kill('SIGTERM');
    await exited;
  }
  rmSync(workDir, { recursive: true, force: true });
});

/** What a client reads from an error answer: status, content type, the envelope's fields and code. */
async function readEnvelope(response: Response): Promise<{ status: number; contentType: string | null; fields: string[]; code: unknown }> {
  const text = await response.text();
  let error: Record<string, unknown> = {};
  try {
    error = (JSON.parse(text) as { error: Record<string, unknown> }).error;
  } catch {
    // not JSON: the fields stay empty and the assertion names what came back
  }
  return { status: response.status, contentType: response.headers.get('content-type'), fields: Object.keys(error).sort(), code: error['code'] };
}

const envelope = (status: number, code: string) => ({ status, contentType: 'application/json', fields: ['code', 'message', 'param', 'type'], code });

describe('the compose nginx.conf', () => {
  it('answers 502 with an OpenAI envelope when no replica can be reached', async () => {
    const response = await fetch(`${url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', input: 'hi' }),
    });
    expect(await readEnvelope(response)).toEqual(envelope(502, 'gateway_unavailable'));
  });

  it('answers a body over client_max_body_size with a 413 envelope', async () => {
    const response = await fetch(`${url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', input: 'x'.repeat(21 * 1024 * 1024) }),
    });
    expect(await readEnvelope(response)).toEqual(envelope(413, 'request_too_large'));
  });

  it('answers /metrics (blocked at the entry point) with a 404 envelope', async () => {
    expect(await readEnvelope(await fetch(`${url}/metrics`))).toEqual(envelope(404, 'unknown_route'));
  });

  it('answers a request line or headers nginx refuses to read with an envelope (errors before any URI is known)', async () => {
    // Over large_client_header_buffers (8k): the URI is a 414, a header nginx's internal 494, sent as 400.
    expect(await readEnvelope(await fetch(`${url}/v1/${'a'.repeat(9000)}`))).toEqual(envelope(414, 'uri_too_long'));
    expect(await readEnvelope(await fetch(`${url}/v1/models`, { headers: { 'x-big': 'b'.repeat(9000) } }))).toEqual(envelope(400, 'headers_too_large'));
  });
});
