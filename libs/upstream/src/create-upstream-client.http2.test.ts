import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { constants as http2Constants, type Http2Session } from 'node:http2';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { done, finishChunk, textChunks } from '../../../test/support/chat-script.ts';
import { answerText, type H2Backend, sseOf, startH2Backend, streamHeaders } from '../../../test/support/h2-backend.ts';
import type { ChatStreamEvent } from '@rgw/responses';
import { createUpstreamClient, type UpstreamClient } from './create-upstream-client.ts';

let backend: H2Backend;
const clients: UpstreamClient[] = [];
beforeAll(async () => {
  backend = await startH2Backend();
  return () => backend.close();
});
afterEach(async () => {
  // Sessions first: a client's close waits for streams a failed test left open.
  for (const session of backend.sessions.splice(0)) session.destroy();
  for (const client of clients.splice(0)) await client.close();
  backend.requests.splice(0);
  backend.handleChat = answerText('Hello over h2');
});

function client(http2: boolean, options: { idleTimeoutMs?: number; maxRetries?: number } = {}): UpstreamClient {
  const created = createUpstreamClient({
    baseUrl: backend.url,
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 5_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
    maxRetries: options.maxRetries ?? 0,
    random: () => 0,
    http2,
    tlsCa: backend.ca,
  });
  clients.push(created);
  return created;
}

const call = () => ({ apiKey: 'sk-test-key-1234567890', signal: new AbortController().signal });
const request = { model: 'scripted/test-model', messages: [{ role: 'user', content: 'hi' }] } as never;

async function collect(events: AsyncGenerator<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const seen: ChatStreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

function text(events: readonly ChatStreamEvent[]): string {
  return events.map((event) => (event.type === 'chunk' ? (event.chunk.choices?.[0]?.delta?.content ?? '') : '')).join('');
}

/** Resolves once a PING came back: every frame the client sent before its answer has reached the server. */
function roundTrip(session: Http2Session): Promise<void> {
  return new Promise((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
}

describe('createUpstreamClient over HTTP/2 (UPSTREAM_HTTP2)', () => {
  it('with http2 on, 50 concurrent streams share a few HTTP/2 connections', async () => {
    // Each stream stays open until all 50 have arrived: they really are concurrent.
    let open = 0;
    const allOpen = Promise.withResolvers<void>();
    backend.handleChat = async (_req, res) => {
      res.writeHead(200, streamHeaders);
      res.write(sseOf(textChunks('Hello ')));
      open += 1;
      if (open === 50) allOpen.resolve();
      await allOpen.promise;
      res.end(sseOf([...textChunks('over h2'), finishChunk('stop'), done()]));
    };
    const upstream = client(true);
    const answers = await Promise.all(Array.from({ length: 50 }, async () => text(await collect(await upstream.streamChat(request, call())))));
    expect(answers).toEqual(Array.from({ length: 50 }, () => 'Hello over h2'));
    expect(backend.requests.map((seen) => `${seen.httpVersion} ${String(seen.alpnProtocol)}`)).toEqual(Array.from({ length: 50 }, () => '2.0 h2'));
    expect(backend.sessions.length).toBeGreaterThanOrEqual(1);
    expect(backend.sessions.length).toBeLessThanOrEqual(2);
  });

  it('with http2 off, the same server (which prefers h2) sees HTTP/1.1, a connection per concurrent stream', async () => {
    let open = 0;
    const allOpen = Promise.withResolvers<void>();
    backend.handleChat = async (_req, res) => {
      res.writeHead(200, streamHeaders);
      open += 1;
      if (open === 10) allOpen.resolve();
      await allOpen.promise;
      res.end(sseOf([...textChunks('over h1'), finishChunk('stop'), done()]));
    };
    const before = backend.connections();
    const upstream = client(false);
    const answers = await Promise.all(Array.from({ length: 10 }, async () => text(await collect(await upstream.streamChat(request, call())))));
    expect(answers).toEqual(Array.from({ length: 10 }, () => 'over h1'));
    expect(backend.requests.map((seen) => `${seen.httpVersion} ${String(seen.alpnProtocol)}`)).toEqual(Array.from({ length: 10 }, () => '1.1 http/1.1'));
    expect(backend.sessions).toEqual([]);
    expect(backend.connections() - before).toBe(10);
  });

  it('with http2 on, a TLS backend that speaks only HTTP/1.1 still gets one request per connection, never one queued behind a stream', async () => {
    let open = 0;
    const allOpen = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    let connections = 0;
    const h1Only = createHttpsServer({ key: backend.key, cert: backend.ca }, (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
          return;
        }
        res.writeHead(200, streamHeaders);
        open += 1;
        if (open === 10) allOpen.resolve();
        void release.promise.then(() => res.end(sseOf([...textChunks(`over ${req.httpVersion}`), finishChunk('stop'), done()])));
      });
    });
    h1Only.on('secureConnection', () => (connections += 1));
    h1Only.listen(0, '127.0.0.1');
    await once(h1Only, 'listening');
    try {
      const upstream = createUpstreamClient({
        baseUrl: `https://127.0.0.1:${(h1Only.address() as AddressInfo).port}/v1`,
        connectTimeoutMs: 2_000,
        headersTimeoutMs: 5_000,
        idleTimeoutMs: 5_000,
        maxRetries: 0,
        http2: true,
        tlsCa: backend.ca,
      });
      clients.push(upstream);
      // Ten streams held open until the model list came back: a request pipelined behind a stream would never get there.
      const answers = Promise.all(Array.from({ length: 10 }, async () => text(await collect(await upstream.streamChat(request, call())))));
      await allOpen.promise;
      expect(await upstream.listModels({ signal: new AbortController().signal })).toHaveLength(1);
      release.resolve();
      expect(await answers).toEqual(Array.from({ length: 10 }, () => 'over 1.1'));
      expect(connections).toBe(11);
    } finally {
      h1Only.closeAllConnections();
      h1Only.close();
    }
  });

  it('a GOAWAY with an error mid-stream ends every in-flight stream with an in-band failure; the next request opens a fresh connection', async () => {
    let open = 0;
    const allOpen = Promise.withResolvers<Http2Session>();
    backend.handleChat = (req, res) => {
      res.writeHead(200, streamHeaders);
      res.write(sseOf(textChunks('partial')));
      open += 1;
      if (open === 5) allOpen.resolve(req.stream.session!);
    };
    const upstream = client(true, { idleTimeoutMs: 60_000 });
    const streams = await Promise.all(Array.from({ length: 5 }, () => upstream.streamChat(request, call())));
    const session = await allOpen.promise;
    const endings = Promise.all(streams.map(collect));
    session.goaway(http2Constants.NGHTTP2_INTERNAL_ERROR);
    session.destroy();
    // Well before the 60 s idle timeout: the session's end reaches every stream at once.
    const ended = await endings;
    for (const events of ended) {
      expect(text(events)).toBe('partial');
      expect(events.at(-1)).toEqual({ type: 'error', error: { code: 'server_error', message: 'The backend connection was cut mid-stream.' } });
    }

    backend.handleChat = answerText('after the GOAWAY');
    expect(text(await collect(await upstream.streamChat(request, call())))).toBe('after the GOAWAY');
    expect(backend.sessions).toHaveLength(2);
    expect(backend.requests.at(-1)?.httpVersion).toBe('2.0');
  });

  it('a session cut before the response headers is retried on a fresh connection, unseen by the caller', async () => {
    let calls = 0;
    backend.handleChat = (req, res) => {
      calls += 1;
      if (calls === 1) {
        req.stream.session!.goaway(http2Constants.NGHTTP2_INTERNAL_ERROR);
        req.stream.session!.destroy();
        return;
      }
      void answerText('second try')(req, res, '');
    };
    const upstream = client(true, { maxRetries: 1 });
    expect(text(await collect(await upstream.streamChat(request, call())))).toBe('second try');
    expect(calls).toBe(2);
    expect(backend.sessions).toHaveLength(2);
  });

  it('a graceful GOAWAY (the backend closing its session) lets open streams finish and sends new requests to a new connection', async () => {
    const first = Promise.withResolvers<Http2Session>();
    const finish = Promise.withResolvers<void>();
    backend.handleChat = async (req, res) => {
      res.writeHead(200, streamHeaders);
      res.write(sseOf(textChunks('begun ')));
      first.resolve(req.stream.session!);
      await finish.promise;
      res.end(sseOf([...textChunks('and finished'), finishChunk('stop'), done()]));
    };
    const upstream = client(true);
    const inFlight = await upstream.streamChat(request, call());
    const session = await first.promise;
    const closed = once(session, 'close');
    // Node sends GOAWAY(NO_ERROR) and closes once the open stream is done.
    session.close();
    backend.handleChat = answerText('on a new connection');
    expect(text(await collect(await upstream.streamChat(request, call())))).toBe('on a new connection');
    expect(backend.sessions).toHaveLength(2);
    finish.resolve();
    expect(text(await collect(inFlight))).toBe('begun and finished');
    await closed;
  });

  it('a paused consumer fills the stream flow-control window: the backend is held to a bounded number of bytes until it reads on', async () => {
    // 512 events of 16 KiB (8 MiB): far more than the client's 256 KiB stream window.
    const event = sseOf([{ kind: 'delta', delta: { content: 'x'.repeat(16 * 1024) } }]);
    const total = 512;
    const progress = { written: 0, blocked: false, finished: false };
    const started = Promise.withResolvers<Http2Session>();
    backend.handleChat = async (req, res) => {
      res.writeHead(200, streamHeaders);
      started.resolve(req.stream.session!);
      for (let index = 0; index < total; index += 1) {
        progress.written += event.length;
        if (!res.write(event)) {
          progress.blocked = true;
          await once(res, 'drain');
          progress.blocked = false;
        }
      }
      res.end(sseOf([finishChunk('stop'), done()]));
      progress.finished = true;
    };
    const upstream = client(true);
    const events = await upstream.streamChat(request, call());
    const session = await started.promise;
    expect((await events.next()).value).toMatchObject({ type: 'chunk' });
    // The consumer stops here. The server's writes back up once the window is spent, and stay backed
    // up: two PING round trips later no WINDOW_UPDATE has let a byte more through.
    let heldAt = 0;
    await vi.waitFor(
      async () => {
        heldAt = progress.written;
        await roundTrip(session);
        await roundTrip(session);
        expect(progress.blocked).toBe(true);
        expect(progress.written).toBe(heldAt);
      },
      { timeout: 10_000, interval: 10 },
    );
    // Stream window (256 KiB) plus the client's and server's stream buffers; HTTP/1.1 lets ~4 MiB into socket buffers.
    expect(heldAt).toBeLessThan(1536 * 1024);
    expect(progress.finished).toBe(false);

    // Reading on opens the window again and the rest arrives.
    const rest = await collect(events);
    expect(progress.finished).toBe(true);
    expect(rest.filter((seen) => seen.type === 'chunk' && seen.chunk.choices?.[0]?.delta?.content !== undefined)).toHaveLength(total - 1);
    expect(rest.at(-1)).toEqual({ type: 'done' });
  });
});
