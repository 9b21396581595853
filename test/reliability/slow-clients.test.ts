import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FIREHOSE_MODEL, type FirehoseBackend, startFirehoseBackend } from './support/firehose-backend.ts';
import { type InProcessGateway, startInProcessGateway, waitFor } from './support/in-process-gateway.ts';
import { openRawConnection, type RawExchange } from './support/raw-http.ts';

const KEY = 'sk-slow-clients';
const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1_000;
let backend: FirehoseBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startFirehoseBackend();
  gateway = await startInProcessGateway({
    UPSTREAM_BASE_URL: backend.url,
    LOG_LEVEL: 'warn',
    SERVER_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    SERVER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(async () => {
  backend.setMode({ kind: 'drip', dripMs: 20 });
  await waitFor(() => backend.openRequests() === 0, 5_000, 'no backend stream left over');
});

const streamBody = JSON.stringify({ model: FIREHOSE_MODEL, input: 'go', stream: true });
const streamRequest = `POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(streamBody)}\r\n\r\n${streamBody}`;

async function trickle(connection: RawExchange, text: string, everyMs: number): Promise<void> {
  for (const character of text) {
    if (connection.socket.destroyed) return;
    await connection.write(character);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe('slowloris', () => {
  it('a client that trickles its headers gets a 408 and the connection closed after the headers timeout', async () => {
    const connection = await openRawConnection(gateway.port);
    const startedAt = performance.now();
    void trickle(connection, `POST /v1/responses HTTP/1.1\r\nhost: x\r\nx-filler: ${'a'.repeat(200)}\r\n`, 50);
    const received = await connection.closed;
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - startedAt).toBeLessThan(HEADERS_TIMEOUT_MS + 2_500);
  });

  it('a client that trickles its body gets a 408 after the request timeout', async () => {
    const connection = await openRawConnection(gateway.port);
    const startedAt = performance.now();
    await connection.write(
      `POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"model":`,
    );
    void trickle(connection, '"x"'.repeat(100), 50);
    const received = await connection.closed;
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - startedAt).toBeLessThan(REQUEST_TIMEOUT_MS + 2_500);
  });

  it('hundreds of idle connections neither block real clients nor stay open past the headers timeout', async () => {
    const idle = await Promise.all(Array.from({ length: 300 }, () => openRawConnection(gateway.port)));
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(200);
    const models = await fetch(`${gateway.baseURL}/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(models.status).toBe(200);
    await Promise.all(idle.map((connection) => connection.closed));
  }, 15_000);
});

describe('clients that stop reading or go away', () => {
  it('a client that never reads a stream holds back the backend (memory stays bounded), and its disconnect aborts the backend call', async () => {
    backend.setMode({ kind: 'flood', chunkChars: 4_000 });
    const heapBefore = process.memoryUsage().heapUsed;
    const connection = await openRawConnection(gateway.port);
    await connection.write(streamRequest);
    expect((await connection.head).status).toBe(200);
    connection.socket.pause(); // stop reading: the kernel buffers fill, then TCP pushes back
    await waitFor(() => backend.bytesWritten() > 1_000_000, 5_000, 'the flood to start');
    // Wait until the backend is blocked: nothing more written for 300 ms.
    let last = -1;
    await waitFor(
      async () => {
        const now = backend.bytesWritten();
        const stalled = now === last;
        last = now;
        if (!stalled) await new Promise((resolve) => setTimeout(resolve, 300));
        return stalled;
      },
      20_000,
      'backpressure to stop the backend',
    );
    const written = backend.bytesWritten();
    // Socket buffers on loopback hold a few MB per hop; without backpressure this grows without bound.
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect(backend.openRequests()).toBe(1);

    connection.socket.destroy();
    await waitFor(() => backend.openRequests() === 0, 3_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 3_000, 'the backend socket to be released');
  }, 40_000);

  it('a client that disconnects mid-stream aborts the backend request and releases its socket', async () => {
    const controller = new AbortController();
    const response = await fetch(`${gateway.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: streamBody,
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value);
    expect(backend.openRequests()).toBe(1);
    controller.abort();
    await waitFor(() => backend.openRequests() === 0, 2_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 2_000, 'the backend socket to be released');
  });

  it('a client that gives up on a non-streamed request aborts the backend request too', async () => {
    const controller = new AbortController();
    const pending = fetch(`${gateway.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: FIREHOSE_MODEL, input: 'go', stream: false }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await waitFor(() => backend.openRequests() === 1, 2_000, 'the backend request to start');
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(() => backend.openRequests() === 0, 2_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 2_000, 'the backend socket to be released');
  });

  it('a hundred clients that disconnect at once leave no backend request open', async () => {
    const controllers = Array.from({ length: 100 }, () => new AbortController());
    await Promise.all(
      controllers.map(async (controller) => {
        const response = await fetch(`${gateway.baseURL}/responses`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: streamBody,
          signal: controller.signal,
        });
        await response.body!.getReader().read();
      }),
    );
    await waitFor(() => backend.openRequests() === 100, 5_000, 'all streams to be open');
    for (const controller of controllers) controller.abort();
    await waitFor(() => backend.openRequests() === 0, 5_000, 'every backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 5_000, 'every backend socket to be released');
  }, 20_000);
});
