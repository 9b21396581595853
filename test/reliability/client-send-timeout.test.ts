/**
 * CLIENT_SEND_TIMEOUT_MS: a client that stops reading a stream (SSE or WebSocket) holds the backend
 * back (backpressure), but only that long: then the backend call is aborted and its connection
 * released, the client's connection is closed, the metric counts it, the breaker is not charged (a
 * threshold of 1 would open it at once), and the gateway serves the next request as usual.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectSocket, toResponsesSocketUrl } from '../support/websocket-client.ts';
import { FIREHOSE_MODEL, type FirehoseBackend, startFirehoseBackend } from './support/firehose-backend.ts';
import { type InProcessGateway, startInProcessGateway, waitFor } from './support/in-process-gateway.ts';
import { openRawConnection } from './support/raw-http.ts';

const KEY = 'sk-client-send-timeout';
const SEND_TIMEOUT_MS = 300;
/** What loopback socket buffers (client, gateway, backend hops) and the gateway's own buffers can hold: far below a flood left unbounded. */
const BOUNDED_BYTES = 64 * 1024 * 1024;
let backend: FirehoseBackend;
let gateway: InProcessGateway;

beforeAll(async () => {
  backend = await startFirehoseBackend();
  gateway = await startInProcessGateway({
    UPSTREAM_BASE_URL: backend.url,
    LOG_LEVEL: 'warn',
    CLIENT_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
    // One charged failure would open the breaker: the request after a timeout shows it was not charged.
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: '1',
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

async function sendTimeouts(transport: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`gateway_client_send_timeouts_total{transport="${transport}"} `));
  return Number(line?.split(' ')[1]);
}

/** A streamed request read until its first delta, then dropped: the gateway still streams (the breaker is closed). */
async function expectStreamsAgain(): Promise<void> {
  backend.setMode({ kind: 'drip', dripMs: 20 });
  const controller = new AbortController();
  const response = await fetch(`${gateway.baseURL}/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: FIREHOSE_MODEL, input: 'again', stream: true }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('response.output_text.delta')) {
    const { value } = (await reader.read()) as { value?: Uint8Array };
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  await waitFor(() => backend.openRequests() === 0, 3_000, 'the follow-up stream to end');
}

describe('a client that stops reading is dropped after CLIENT_SEND_TIMEOUT_MS', () => {
  it('SSE: the backend call is aborted with the whole flood never pushed, the client connection closed, one timeout counted', async () => {
    backend.setMode({ kind: 'flood', chunkChars: 4_000 });
    const before = await sendTimeouts('sse');
    const bytesBefore = backend.bytesWritten();
    const body = JSON.stringify({ model: FIREHOSE_MODEL, input: 'go', stream: true });
    const connection = await openRawConnection(gateway.port);
    await connection.write(
      `POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    expect((await connection.head).status).toBe(200);
    connection.socket.pause(); // never read again: the buffers fill, then the gateway waits for a drain that never comes
    await waitFor(() => backend.chatRequests() > 0 && backend.openRequests() === 0, 15_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 3_000, 'the backend socket to be released');
    // The flood would go on without end; what it pushed before the abort is what the buffers held.
    expect(backend.bytesWritten() - bytesBefore).toBeLessThan(BOUNDED_BYTES);
    await waitFor(async () => (await sendTimeouts('sse')) === before + 1, 3_000, 'the timeout to be counted');
    expect(gateway.logs.some((line) => line.includes('client stopped reading its stream') && line.includes('"request_id"'))).toBe(true);
    // The gateway closed the connection: once the client reads what was buffered, it reaches the end.
    connection.socket.resume();
    await connection.closed;

    await expectStreamsAgain();
  }, 30_000);

  it('WebSocket: the backend call is aborted, the socket terminated, one timeout counted', async () => {
    backend.setMode({ kind: 'flood', chunkChars: 4_000 });
    const before = await sendTimeouts('websocket');
    const bytesBefore = backend.bytesWritten();
    const client = await connectSocket(toResponsesSocketUrl(gateway.baseURL), { apiKey: KEY });
    client.send({ type: 'response.create', model: FIREHOSE_MODEL, input: 'go' });
    await client.waitForFrame((frame) => frame.type === 'response.output_text.delta');
    client.socket.pause();
    await waitFor(() => backend.openRequests() === 0, 15_000, 'the backend request to be aborted');
    await waitFor(() => backend.openSockets() === 0, 3_000, 'the backend socket to be released');
    expect(backend.bytesWritten() - bytesBefore).toBeLessThan(BOUNDED_BYTES);
    await waitFor(async () => (await sendTimeouts('websocket')) === before + 1, 3_000, 'the timeout to be counted');
    client.socket.resume();
    const { code } = await client.closed;
    expect(code).toBe(1006); // terminated: no close handshake can reach a client that does not read

    await expectStreamsAgain();
  }, 30_000);
});
