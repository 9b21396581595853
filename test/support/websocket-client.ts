/**
 * A raw WebSocket-mode client for tests (the `ws` package, the same one the openai SDK's ResponsesWS
 * runs on): every frame it receives, parsed, in order; turns delimited the way real clients do it
 * (Codex, the Open Responses suite): a turn ends at `response.completed|failed|incomplete` or at an
 * error frame carrying a `status` (a request refused before any response existed).
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { readonly type: string };

export interface SocketClient {
  readonly socket: WebSocket;
  /** Every text frame received so far, parsed. */
  readonly frames: Frame[];
  /** Resolves when the server closed (or the socket failed). */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  send(frame: unknown): void;
  /** The frames of the next turn not read yet, up to and including its terminal frame. */
  nextTurn(timeoutMs?: number): Promise<Frame[]>;
  /** Sends `{"type":"response.create", ...body}` and returns that turn's frames. */
  create(body: Record<string, unknown>): Promise<Frame[]>;
  /** Resolves once a frame matching `predicate` arrived (anywhere in the stream). */
  waitForFrame(predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  close(): void;
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer <apiKey>` unless `headers` says otherwise. */
  readonly apiKey?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Offer permessage-deflate (Codex does); default false, as the openai SDK. */
  readonly perMessageDeflate?: boolean;
  /** Answer the server's pings (default true); false plays a dead peer. */
  readonly autoPong?: boolean;
}

/** `http://127.0.0.1:port/v1` → `ws://127.0.0.1:port/v1/responses`, as Codex and the SDK build it. */
export function toResponsesSocketUrl(baseURL: string): string {
  const url = new URL(`${baseURL.replace(/\/$/, '')}/responses`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export function isTerminalFrame(frame: Frame): boolean {
  return (
    frame.type === 'response.completed' ||
    frame.type === 'response.failed' ||
    frame.type === 'response.incomplete' ||
    (frame.type === 'error' && typeof frame['status'] === 'number')
  );
}

export function connectSocket(url: string, options: ConnectOptions = {}): Promise<SocketClient> {
  const headers = { ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }), ...options.headers };
  const socket = new WebSocket(url, { headers, perMessageDeflate: options.perMessageDeflate ?? false, autoPong: options.autoPong ?? true });
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  let cursor = 0;
  const notify = () => {
    for (const listener of listeners) listener();
  };
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) throw new Error('the gateway sent a binary frame');
    frames.push(JSON.parse(data.toString('utf8')) as Frame);
    notify();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString() });
      notify();
    });
  });

  function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) {
          if (socket.readyState === WebSocket.CLOSED)
            finish(() => reject(new Error(`socket closed while waiting for ${what}; frames: ${JSON.stringify(frames.map((f) => f.type))}`)));
          return;
        }
        finish(() => resolve(value));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.map((f) => f.type))}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(attempt);
        settle();
      };
      listeners.add(attempt);
      attempt();
    });
  }

  const client: SocketClient = {
    socket,
    frames,
    closed,
    send(frame) {
      socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    nextTurn(timeoutMs = 20_000) {
      return waitUntil(
        () => {
          const end = frames.findIndex((frame, index) => index >= cursor && isTerminalFrame(frame));
          if (end === -1) return undefined;
          const turn = frames.slice(cursor, end + 1);
          cursor = end + 1;
          return turn;
        },
        timeoutMs,
        'the end of a turn',
      );
    },
    create(body) {
      client.send({ type: 'response.create', ...body });
      return client.nextTurn();
    },
    waitForFrame(predicate, timeoutMs = 20_000) {
      return waitUntil(() => frames.find(predicate), timeoutMs, 'a matching frame');
    },
    close() {
      socket.close(1000);
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response: IncomingMessage) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
}

/** An upgrade the gateway refuses: its HTTP status, headers and JSON body. */
export function readUpgradeRefusal(
  url: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as unknown) }),
      );
    });
    socket.once('error', (error) => reject(error));
  });
}
