import { once } from 'node:events';
import { createServer, request, Agent, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConnectionDrainer } from './create-connection-drainer.ts';

let server: Server | undefined;
afterEach(() => {
  vi.useRealTimers();
  server?.closeAllConnections();
  server?.close();
});

/** A server whose `/slow` answers when the test calls `release()`; `sockets` are its connections, in order. */
async function startServer(): Promise<{ server: Server; port: number; sockets: Socket[]; slowArrived: Promise<void>; release: () => void }> {
  const sockets: Socket[] = [];
  let slow: ServerResponse | undefined;
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
  const started = createServer((req, res) => {
    if (req.url === '/slow') {
      slow = res;
      arrived();
    } else res.end('ok');
  });
  started.on('connection', (socket: Socket) => sockets.push(socket));
  server = started;
  started.listen(0, '127.0.0.1');
  await once(started, 'listening');
  return { server: started, port: (started.address() as AddressInfo).port, sockets, slowArrived, release: () => slow?.end('slow done') };
}

function get(port: number, path: string, agent: Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ body, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end();
  });
}

describe('createConnectionDrainer', () => {
  it('lets in-flight requests finish, answers new ones on open connections with Connection: close, and resolves once every connection closed', async () => {
    // The drainer's sweep and its idle clock are the test's; the sockets and HTTP are real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    const { server: started, port, sockets, slowArrived, release } = await startServer();
    const drainer = createConnectionDrainer(started, { idleCloseMs: 200 });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, '/', idle); // leaves one idle keep-alive connection
    const slow = get(port, '/slow', keepAlive);
    await slowArrived;
    const [idleSocket, slowSocket] = sockets;

    let drained = false;
    void drainer.drain().then(() => (drained = true));
    expect(drainer.draining()).toBe(true);
    await expect(get(port, '/', new Agent())).rejects.toThrow(/ECONNREFUSED/); // no new connections
    // The idle connection is closed once idle for idleCloseMs, not at once (a proxy may be about to use it).
    await vi.advanceTimersByTimeAsync(150);
    expect(idleSocket?.writableEnded).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(idleSocket?.writableEnded).toBe(true);
    // The in-flight request is not cut: it finishes; its connection is idle from then on.
    expect(slowSocket?.writableEnded).toBe(false);
    release();
    expect((await slow).body).toBe('slow done');
    // Resolved once that connection too was idle for idleCloseMs and closed (vi.waitFor moves the
    // faked timers on by its interval at each check).
    expect(drained).toBe(false);
    await vi.waitFor(() => expect(drained).toBe(true), { timeout: 5_000 });
    keepAlive.destroy();
    idle.destroy();
  });

  it('marks answers given while draining with Connection: close', async () => {
    const { server: started, port } = await startServer();
    const drainer = createConnectionDrainer(started, { idleCloseMs: 5_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(port, '/', agent)).connection).toBe('keep-alive');
    void drainer.drain();
    // The pooled connection is still open (idle < idleCloseMs): it is reused, and told to close.
    expect((await get(port, '/', agent)).connection).toBe('close');
    drainer.closeAll();
    agent.destroy();
  });
});
