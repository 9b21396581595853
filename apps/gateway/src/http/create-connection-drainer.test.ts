import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnectionDrainer } from './create-connection-drainer.ts';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

/** A server whose `/slow` answers after `slowMs`. */
async function startServer(slowMs: number): Promise<{ server: Server; port: number }> {
  const started = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), slowMs);
    else res.end('ok');
  });
  server = started;
  await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
  return { server: started, port: (started.address() as AddressInfo).port };
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
    const { server: started, port } = await startServer(300);
    const drainer = createConnectionDrainer(started, { idleCloseMs: 200 });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, '/', idle); // leaves one idle keep-alive connection
    const slow = get(port, '/slow', keepAlive);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const startedAt = performance.now();
    const drained = drainer.drain();
    expect(drainer.draining()).toBe(true);
    await expect(get(port, '/', new Agent())).rejects.toThrow(/ECONNREFUSED/); // no new connections
    expect((await slow).body).toBe('slow done');
    await drained;
    // Waited for the slow request and for the idle connection's idle period, not for the keep-alive timeout.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    keepAlive.destroy();
    idle.destroy();
  });

  it('marks answers given while draining with Connection: close', async () => {
    const { server: started, port } = await startServer(0);
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
