/**
 * A real HTTPS backend that speaks HTTP/2 and HTTP/1.1 (node:http2 `createSecureServer`, allowHTTP1),
 * with a self-signed certificate made by `openssl` at test time. It answers `GET /v1/models` and, by
 * default, a scripted Chat Completions stream; tests swap `handleChat` for their own script and read
 * what the server saw: TLS connections, HTTP/2 sessions, and each request's protocol.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Http2ServerRequest, type Http2ServerResponse, type Http2Session, createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { done, finishChunk, type ScriptStep, textChunks } from './chat-script.ts';
import { encodeStep } from './encode-chat-script.ts';
import { DEFAULT_MODEL_ID } from './scripted-backend.ts';
import { makeSelfSignedCert } from './self-signed-cert.ts';

export interface H2Request {
  readonly path: string;
  /** '2.0' or '1.1'. */
  readonly httpVersion: string;
  /** The protocol ALPN settled on for the request's connection ('h2', 'http/1.1'). */
  readonly alpnProtocol: string | false | undefined;
  readonly body: string;
}

export type H2ChatHandler = (req: Http2ServerRequest, res: Http2ServerResponse, body: string) => void | Promise<void>;

export interface H2Backend {
  /** `https://127.0.0.1:<port>/v1`. */
  readonly url: string;
  /** PEM of the self-signed certificate: what UPSTREAM_TLS_CA_FILE points at. */
  readonly caFile: string;
  readonly ca: Buffer;
  /** The certificate's private key, for a second server under the same name (an HTTP/1.1-only one). */
  readonly key: Buffer;
  /** Every TLS connection accepted (HTTP/1.1 and HTTP/2 alike). */
  readonly connections: () => number;
  /** HTTP/2 sessions, in order of arrival. */
  readonly sessions: Http2Session[];
  readonly requests: H2Request[];
  /** Answers POST /v1/chat/completions; default: a short text stream. */
  handleChat: H2ChatHandler;
  close(): Promise<void>;
}

/** The SSE bytes of `steps` for a stream with usage on. */
export function sseOf(steps: readonly ScriptStep[]): string {
  const context = { id: 'chatcmpl-h2', created: 1, model: DEFAULT_MODEL_ID, includeUsage: true };
  return steps.map((step) => encodeStep(step, context) ?? '').join('');
}

export const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** Answers a whole short text stream at once. */
export const answerText =
  (text: string): H2ChatHandler =>
  (_req, res) => {
    res.writeHead(200, streamHeaders);
    res.end(sseOf([...textChunks(text), finishChunk('stop'), done()]));
  };

export async function startH2Backend(): Promise<H2Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'rgw-h2-backend-'));
  await makeSelfSignedCert(dir);
  const caFile = join(dir, 'cert.pem');
  const ca = readFileSync(caFile);
  let connections = 0;
  const sessions: Http2Session[] = [];
  const requests: H2Request[] = [];
  const key = readFileSync(join(dir, 'key.pem'));
  const server = createSecureServer({ key, cert: ca, allowHTTP1: true });
  server.on('secureConnection', () => {
    connections += 1;
  });
  server.on('session', (session: Http2Session) => sessions.push(session));
  const backend: H2Backend = {
    url: '',
    caFile,
    ca,
    key,
    connections: () => connections,
    sessions,
    requests,
    handleChat: answerText('Hello over h2'),
    async close() {
      for (const session of sessions) session.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (text: string) => (body += text));
    req.on('end', () => {
      const alpnProtocol = req.httpVersion === '2.0' ? req.stream.session?.alpnProtocol : (req.socket as { alpnProtocol?: string | false }).alpnProtocol;
      requests.push({ path: req.url, httpVersion: req.httpVersion, alpnProtocol, body });
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: DEFAULT_MODEL_ID, object: 'model', created: 1, owned_by: 'test' }] }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        void backend.handleChat(req, res, body);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found"}}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(backend, { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
}
