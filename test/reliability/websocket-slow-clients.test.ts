/**
 * WebSocket clients that stop reading or go away mid-response, against the real in-process gateway
 * and a backend that streams without end: the gateway's memory stays bounded (the backend is held
 * back, as over SSE) and a closed socket stops the backend call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectSocket, toResponsesSocketUrl } from '../support/websocket-client.ts';
import { FIREHOSE_MODEL, type FirehoseBackend, startFirehoseBackend } from './support/firehose-backend.ts';
import { type InProcessGateway, startInProcessGateway, waitFor } from './support/in-process-gateway.ts';

const KEY = 'sk-websocket-slow-clients';
let backend: FirehoseBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startFirehoseBackend();
  gateway = await startInProcessGateway({ UPSTREAM_BASE_URL: backend.url, LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});
beforeEach(async () => {
  backend.setMode({ kind: 'drip', dripMs: 20 });
  await waitFor(() => backend.openRequests() === 0, 5_000, 'no backend stream left over');
});

describe('WebSocket clients that stop reading or go away', () => {
  it('a socket that stops reading holds back the backend (memory stays bounded), and dropping it aborts the backend call', async () => {
    backend.setMode({ kind: 'flood', chunkChars: 4_000 });
    const heapBefore = process.memoryUsage().heapUsed;
    const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY });
    client.send({ type: 'response.create', model: FIREHOSE_MODEL, input: 'go' });
    await client.waitForFrame((frame) => frame.type === 'response.output_text.delta');
    client.socket.pause(); // stop reading: the kernel buffers fill, then TCP pushes back
    await waitFor(() => backend.bytesWritten() > 1_000_000, 5_000, 'the flood to start');
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
    // Socket buffers on loopback hold a few MB per hop, plus the gateway's 1 MiB bound; without
    // backpressure this grows without end.
    expect(backend.bytesWritten()).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect(backend.openRequests()).toBe(1);

    client.socket.terminate();
    await waitFor(() => backend.openRequests() === 0, 3_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 3_000, 'the backend socket to be released');
  }, 40_000);

  it('a client that closes its socket mid-response aborts the backend request and releases its socket', async () => {
    const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY });
    client.send({ type: 'response.create', model: FIREHOSE_MODEL, input: 'go' });
    await client.waitForFrame((frame) => frame.type === 'response.output_text.delta');
    expect(backend.openRequests()).toBe(1);
    const aborted = async () =>
      Number(/gateway_websocket_turns_total\{kind="generate",outcome="aborted"\} (\d+)/.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? 0);
    const before = await aborted();
    client.close();
    await waitFor(() => backend.openRequests() === 0, 2_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 2_000, 'the backend socket to be released');
    await expect.poll(aborted).toBe(before + 1);
  });
});
