/**
 * A Chat Completions backend that streams without end, for backpressure and disconnect tests: it
 * writes content chunks either as fast as its socket takes them (`flood`, honouring backpressure)
 * or one every `dripMs`, and reports what it wrote and which requests and sockets are still open.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FIREHOSE_MODEL = 'firehose/model';

export interface FirehoseBackend {
  readonly url: string;
  /** Bytes of chat chunks written so far (all requests). */
  readonly bytesWritten: () => number;
  /** Chat requests whose response has not closed yet. */
  readonly openRequests: () => number;
  readonly chatRequests: () => number;
  /** TCP connections currently open to this backend. */
  readonly openSockets: () => number;
  setMode(mode: { kind: 'flood'; chunkChars: number } | { kind: 'drip'; dripMs: number }): void;
  close(): Promise<void>;
}

function drainOrClose(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

export async function startFirehoseBackend(): Promise<FirehoseBackend> {
  let mode: { kind: 'flood'; chunkChars: number } | { kind: 'drip'; dripMs: number } = { kind: 'drip', dripMs: 20 };
  let bytes = 0;
  let open = 0;
  let chats = 0;
  const sockets = new Set<Socket>();

  async function stream(response: ServerResponse): Promise<void> {
    const current = mode;
    const content = current.kind === 'flood' ? 'z'.repeat(current.chunkChars) : 'tick ';
    const frame = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: FIREHOSE_MODEL, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: FIREHOSE_MODEL, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
    );
    while (!response.destroyed) {
      bytes += frame.length;
      const flushed = response.write(frame);
      if (current.kind === 'drip') await new Promise((resolve) => setTimeout(resolve, current.dripMs));
      else if (!flushed) await drainOrClose(response);
    }
  }

  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url?.startsWith('/v1/models')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ object: 'list', data: [{ id: FIREHOSE_MODEL, object: 'model', created: 1, owned_by: 'test' }] }));
        return;
      }
      chats += 1;
      open += 1;
      response.on('close', () => (open -= 1));
      void stream(response);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    bytesWritten: () => bytes,
    openRequests: () => open,
    chatRequests: () => chats,
    openSockets: () => sockets.size,
    setMode: (next) => void (mode = next),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
