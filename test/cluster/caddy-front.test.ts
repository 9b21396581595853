/**
 * The shipped TLS front (deploy/caddy/Caddyfile) run by the real Caddy from Debian's package, in
 * front of two real gateway replicas, the way compose runs it: the replicas are the A records of
 * the name `gateway` on one port (here a local DNS server standing for Docker's, replicas on
 * 127.0.0.2 and 127.0.0.3), the certificate for `localhost` comes from Caddy's local CA, whose root
 * only the test's clients trust. Nothing here reaches the internet or touches a trust store.
 */
import { once } from 'node:events';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DnsAServer, startDnsAServer } from '../support/dns-a-server.ts';
import { findFreePort } from '../support/redis-server.ts';
import {
  done,
  finishChunk,
  pauseUntil,
  roleChunk,
  type ScriptedBackend,
  startScriptedBackend,
  textAnswer,
  textChunks,
  usageChunk,
} from '../support/scripted-backend.ts';
import { hasCaddy, type StartedCaddy, startCaddy } from '../support/start-caddy.ts';
import { type StartedGateway, startGateway } from '../support/start-gateway.ts';

const MODEL = 'org/model-a';
const API_KEY = 'sk-caddy-front-test';
const REPLICA_HOSTS = ['127.0.0.2', '127.0.0.3'];

let backend: ScriptedBackend;
let dns: DnsAServer;
let replicaPort: number;
const replicas = new Map<string, StartedGateway>();
let front: StartedCaddy;
let plainFront: StartedCaddy;

function startReplica(host: string): Promise<StartedGateway> {
  return startGateway({
    env: {
      UPSTREAM_BASE_URL: backend.url,
      HOST: host,
      PORT: String(replicaPort),
      // Embedded mode is enough for the front; the replicas share the key as compose's do.
      REASONING_ENCRYPTION_KEY: 'caddy-front-test-key-'.repeat(3),
      SHUTDOWN_GRACE_SECONDS: '30',
    },
  }).then((replica) => {
    replicas.set(host, replica);
    return replica;
  });
}

/** A fetch that trusts only Caddy's local CA (the openai SDK takes it as `fetch`). */
function trustingFetch(agent: Agent): typeof globalThis.fetch {
  return ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof globalThis.fetch;
}

function httpsUrl(path: string): string {
  return `https://localhost:${front.httpsPort}${path}`;
}

/** An agent trusting the local CA that speaks HTTP/1.1 only (Node's own fetch does not negotiate HTTP/2). */
let http1Agent: Agent | undefined;
function http1Only(): Agent {
  http1Agent ??= new Agent({ connect: { ca: front.rootCertificate ?? '' }, allowH2: false });
  return http1Agent;
}

/** The openai SDK over HTTPS, trusting the local CA; HTTP/2 unless `protocol` says otherwise. */
function sdkClient(maxRetries = 0, protocol: 'h2' | 'http/1.1' = 'h2'): OpenAI {
  const agent = protocol === 'h2' ? front.trustingAgent() : http1Only();
  return new OpenAI({ apiKey: API_KEY, baseURL: httpsUrl('/v1'), maxRetries, fetch: trustingFetch(agent) });
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return undiciFetch(httpsUrl(path), {
    method: 'POST',
    dispatcher: front.trustingAgent(),
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Caddy's debug line for each request it sent to a replica: the replica's address and the headers it sent. */
function upstreamRoundtrips(caddy: StartedCaddy): Array<{ upstream: string; headers: Record<string, string[]> }> {
  return caddy
    .logRecords()
    .filter((record) => record['msg'] === 'upstream roundtrip' && record['status'] !== undefined)
    .map((record) => ({
      upstream: String(record['upstream']),
      headers: ((record['request'] as { headers?: Record<string, string[]> } | undefined)?.headers ?? {}) as Record<string, string[]>,
    }));
}

/** Upstream addresses Caddy could not connect to (its debug line for a failed round trip). */
function refusedDials(caddy: StartedCaddy): string[] {
  return caddy
    .logRecords()
    .filter((record) => record['msg'] === 'upstream roundtrip' && typeof record['error'] === 'string' && record['error'].includes('connection refused'))
    .map((record) => String(record['upstream']));
}

const caddyInstalled = hasCaddy();
if (!caddyInstalled) process.stderr.write('test/cluster/caddy-front: [skipped: caddy not installed; apt-get install caddy]\n');

describe.skipIf(!caddyInstalled)('the Caddy front (deploy/caddy/Caddyfile) over two replicas', () => {
  beforeAll(async () => {
    backend = await startScriptedBackend({ models: [MODEL] });
    replicaPort = await findFreePort();
    await Promise.all(REPLICA_HOSTS.map(startReplica));
    dns = await startDnsAServer('gateway', REPLICA_HOSTS);
    const env = {
      ACME_EMAIL: 'ops@example.com',
      GATEWAY_DNS_RESOLVER: dns.resolverAddress,
      GATEWAY_UPSTREAM_PORT: String(replicaPort),
      // Debug logs carry the headers Caddy sends to each replica.
      CADDY_LOG_LEVEL: 'DEBUG',
    };
    // `localhost` is not a public name: Caddy takes its certificate from the local CA, never ACME.
    // Assigned as each one is up, so afterAll stops whichever started even if the other did not.
    await Promise.all([
      startCaddy({ env: { ...env, GATEWAY_DOMAIN: 'localhost' } }).then((caddy) => (front = caddy)),
      startCaddy({ env: { ...env, GATEWAY_SCHEME: 'http', GATEWAY_DOMAIN: '' } }).then((caddy) => (plainFront = caddy)),
    ]);
  }, 60_000);

  afterAll(async () => {
    await http1Agent?.close();
    await Promise.allSettled([front?.stop(), plainFront?.stop()]);
    await Promise.allSettled([...replicas.values()].map((replica) => replica.stop()));
    await dns?.close();
    await backend?.close();
  }, 60_000);

  it.each(['h2', 'http/1.1'] as const)(
    'streams a response over HTTPS (%s) to an openai SDK client trusting the local CA, each event as the model produces it',
    async (protocol) => {
      // The backend holds the rest of the answer until the client has seen the first part: a front
      // that buffered the stream would deliver nothing until then, and only the watchdog would end the wait.
      let release: (by: 'client' | 'watchdog') => void = () => undefined;
      const released = new Promise<'client' | 'watchdog'>((resolve) => (release = resolve));
      backend.setHandler(() => ({
        steps: [
          roleChunk(),
          ...textChunks('Before the pause.'),
          pauseUntil(released),
          ...textChunks(' After it.'),
          finishChunk('stop'),
          usageChunk({ prompt: 5, completion: 6 }),
          done(),
        ],
      }));
      const watchdog = setTimeout(() => release('watchdog'), 15_000);
      try {
        const stream = sdkClient(0, protocol).responses.stream({ model: MODEL, input: 'hi', store: false });
        let textBeforeRelease = '';
        let releasedByClient = false;
        for await (const event of stream) {
          if (event.type !== 'response.output_text.delta' || releasedByClient) continue;
          textBeforeRelease += event.delta;
          if (textBeforeRelease === 'Before the pause.') {
            releasedByClient = true;
            release('client');
          }
        }
        const response = await stream.finalResponse();
        expect(await released).toBe('client');
        expect(textBeforeRelease).toBe('Before the pause.');
        expect(response.status).toBe('completed');
        expect(response.output_text).toBe('Before the pause. After it.');
      } finally {
        clearTimeout(watchdog);
      }
    },
  );

  it('is real TLS: a client that does not trust the local CA is refused for the certificate', async () => {
    backend.setHandler(() => textAnswer('never sent'));
    const untrusting = new OpenAI({ apiKey: API_KEY, baseURL: httpsUrl('/v1'), maxRetries: 0 });
    const failure = await untrusting.responses.create({ model: MODEL, input: 'hi' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIConnectionError);
    // Node's TLS error codes down the cause chain, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE.
    const codes: string[] = [];
    for (let cause: unknown = failure; cause instanceof Error; cause = cause.cause) {
      if ('code' in cause && typeof cause.code === 'string') codes.push(cause.code);
    }
    expect(codes.join(' ')).toMatch(/CERT|SIGNATURE|ISSUER/);
  });

  it('spreads requests over both replicas it found in DNS', async () => {
    backend.setHandler(() => textAnswer('ok'));
    const before = upstreamRoundtrips(front).length;
    const client = sdkClient();
    for (let i = 0; i < 4; i += 1) expect((await client.responses.create({ model: MODEL, input: 'hi' })).output_text).toBe('ok');
    const used = new Set(
      upstreamRoundtrips(front)
        .slice(before)
        .map((line) => line.upstream.split(':')[0] ?? ''),
    );
    expect([...used].sort((left, right) => left.localeCompare(right))).toEqual(REPLICA_HOSTS);
  });

  it('redirects plain HTTP to HTTPS with 308, keeping the host, path and query', async () => {
    const response = await undiciFetch(`http://localhost:${front.httpPort}/v1/models?limit=5`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    // Caddy's https_port is the container's; the public port is 443, so the Location names none.
    expect(response.headers.get('location')).toBe('https://localhost/v1/models?limit=5');
  });

  it('sets HSTS on HTTPS answers, the replicas’ and its own', async () => {
    const proxied = await undiciFetch(httpsUrl('/v1/models'), { dispatcher: front.trustingAgent(), headers: { authorization: `Bearer ${API_KEY}` } });
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const own = await undiciFetch(httpsUrl('/metrics'), { dispatcher: front.trustingAgent() });
    expect(own.status).toBe(404);
    expect(own.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });

  it('passes a valid X-Request-Id through, and makes one for a request that has none or a malformed one', async () => {
    backend.setHandler(() => textAnswer('ok'));
    const sent = await post('/v1/responses', { model: MODEL, input: 'hi' }, { 'x-request-id': 'client-id_1.2' });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('x-request-id')).toBe('client-id_1.2');
    expect(backend.chatRequests().at(-1)?.headers['x-request-id']).toBe('client-id_1.2');

    for (const headers of [{}, { 'x-request-id': 'not valid: spaces and a colon' }]) {
      const response = await post('/v1/responses', { model: MODEL, input: 'hi' }, headers);
      expect(response.status).toBe(200);
      const id = response.headers.get('x-request-id') ?? '';
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      // Caddy sent that id to the replica (so the gateway did not make it), and the backend saw it too.
      expect(upstreamRoundtrips(front).some((line) => line.headers['X-Request-Id']?.[0] === id)).toBe(true);
      expect(backend.chatRequests().at(-1)?.headers['x-request-id']).toBe(id);
    }
  });

  it('passes the client address and scheme to the replica, replacing an X-Forwarded-For the client made up', async () => {
    backend.setHandler(() => textAnswer('ok'));
    const response = await post('/v1/responses', { model: MODEL, input: 'hi' }, { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'forwarded-check' });
    expect(response.status).toBe(200);
    const sent = upstreamRoundtrips(front).find((line) => line.headers['X-Request-Id']?.[0] === 'forwarded-check');
    expect(sent?.headers['X-Forwarded-For']).toEqual(['127.0.0.1']);
    expect(sent?.headers['X-Forwarded-Proto']).toEqual(['https']);
    expect(sent?.headers['X-Forwarded-Host']).toEqual([`localhost:${front.httpsPort}`]);
  });

  it('answers its own errors in the OpenAI envelope as application/json: a path it does not serve', async () => {
    const response = await undiciFetch(httpsUrl('/metrics'), { dispatcher: front.trustingAgent(), headers: { 'x-request-id': 'metrics-probe' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toBe('metrics-probe');
    expect(await response.json()).toEqual({ error: { message: 'Not found.', type: 'invalid_request_error', param: null, code: 'not_found' } });
  });

  it('passes a body of any size to the replicas, whose 413 envelope for one over MAX_BODY_BYTES comes through', async () => {
    // HTTP/1.1: undici's HTTP/2 client fails such a request (and its session) when the answer comes
    // before the upload ends; curl over HTTP/2 gets the same 413 from this front.
    const response = await undiciFetch(httpsUrl('/v1/responses'), {
      method: 'POST',
      dispatcher: http1Only(),
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'x'.repeat(21 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
  });

  it('answers 502 in the envelope when every replica refuses, and 503 when DNS lists none; the SDK raises APIError', async () => {
    const client = sdkClient();
    backend.setHandler(() => textAnswer('ok'));
    // Two replicas that exist in DNS but accept nothing (stopped containers, a bad image).
    dns.setAddresses(['127.0.0.8', '127.0.0.9']);
    try {
      const refused = await vi.waitFor(
        async () => {
          const response = await post('/v1/responses', { model: MODEL, input: 'hi' });
          expect(response.status).toBe(502);
          return response;
        },
        { timeout: 20_000, interval: 100 },
      );
      expect(refused.headers.get('content-type')).toBe('application/json');
      expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(await refused.json()).toEqual({
        error: { message: 'No gateway replica could be reached. Retry shortly.', type: 'server_error', param: null, code: 'front_bad_gateway' },
      });
      const raised = await client.responses.create({ model: MODEL, input: 'hi' }).catch((error: unknown) => error);
      expect(raised).toBeInstanceOf(APIError);
      expect(raised).toMatchObject({ status: 502, code: 'front_bad_gateway', type: 'server_error' });

      // No replica at all: Docker's DNS answers NXDOMAIN for the service.
      dns.setAddresses([]);
      const none = await vi.waitFor(
        async () => {
          const response = await post('/v1/responses', { model: MODEL, input: 'hi' });
          expect(response.status).toBe(503);
          return response;
        },
        { timeout: 20_000, interval: 100 },
      );
      expect(none.headers.get('content-type')).toBe('application/json');
      expect(await none.json()).toEqual({
        error: { message: 'No gateway replica is available. Retry shortly.', type: 'server_error', param: null, code: 'front_no_replicas' },
      });
    } finally {
      // Back to the two replicas, and wait until Caddy's cached lookup has caught up.
      dns.setAddresses(REPLICA_HOSTS);
      await vi.waitFor(async () => expect((await post('/v1/responses', { model: MODEL, input: 'hi' })).status).toBe(200), { timeout: 20_000, interval: 100 });
    }
  }, 60_000);

  it('serves the same front over plain HTTP for local use: no redirect, no HSTS, streams', async () => {
    backend.setHandler(() => textAnswer('plain and simple'));
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${plainFront.httpPort}/v1`, maxRetries: 0 });
    const stream = client.responses.stream({ model: MODEL, input: 'hi', store: false });
    const response = await stream.finalResponse();
    expect(response.output_text).toBe('plain and simple');
    const models = await undiciFetch(`http://127.0.0.1:${plainFront.httpPort}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(models.status).toBe(200);
    expect(models.headers.get('strict-transport-security')).toBeNull();
  });

  // What deploy/deploy.sh does to each replica on an upgrade: start a new one (it appears in DNS),
  // then `docker stop` an old one (SIGTERM: it stops accepting, finishes its streams, exits) while
  // Docker's DNS may still list it.
  it('rolls a replica as deploy.sh does: the new one gets traffic, the old one finishes its open stream, no request fails', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    backend.setHandler(() => ({ steps: [roleChunk(), ...textChunks('started;'), pauseUntil(held), ...textChunks(' finished'), finishChunk('stop'), done()] }));
    const before = upstreamRoundtrips(front).length;
    const stream = sdkClient().responses.stream({ model: MODEL, input: 'long answer', store: false });
    let firstDelta: () => void = () => undefined;
    const sawFirstDelta = new Promise<void>((resolve) => (firstDelta = resolve));
    stream.on('response.output_text.delta', () => firstDelta());
    const finished = stream.finalResponse();
    const ended = finished.then(
      () => 'ended',
      () => 'ended',
    );
    expect(await Promise.race([sawFirstDelta.then(() => 'first delta'), ended])).toBe('first delta');
    const host = upstreamRoundtrips(front).slice(before)[0]?.upstream.split(':')[0] ?? '';
    const old = replicas.get(host);
    expect(old).toBeDefined();
    if (old === undefined) return;

    // deploy.sh starts the new replica first and waits until it serves (Caddy looks the name up
    // again every second)...
    backend.setHandler(() => textAnswer('served during the roll'));
    const added = await startReplica('127.0.0.4');
    dns.setAddresses([...REPLICA_HOSTS, '127.0.0.4']);
    await vi.waitFor(
      async () => {
        await post('/v1/responses', { model: MODEL, input: 'hi' });
        expect(added.logRecords().some((record) => record['msg'] === 'request completed')).toBe(true);
      },
      { timeout: 15_000, interval: 20 },
    );

    // ...then stops the old one, SIGTERM as `docker stop` sends it (start-gateway's stop() would
    // SIGKILL after 10 s). Docker's DNS lists it until it has exited.
    const exit = once(old.process, 'exit');
    old.process.kill('SIGTERM');
    await vi.waitFor(() => expect(old.logRecords().some((record) => record['msg'] === 'shutting down: draining in-flight requests')).toBe(true));
    // The SDK's default retries (2): Caddy before 2.11.2 cannot re-send a POST body after a refused
    // connection and answers 502 (front_bad_gateway), which SDKs retry; compose pins a Caddy that
    // sends it to another replica at once (docs/adr/0002-tls-front-caddy.md).
    const client = sdkClient(2);
    const results: string[] = [];
    // Requests until Caddy has tried the draining replica, which refused: none may fail. A failed
    // request is recorded, not retried.
    await vi.waitFor(
      async () => {
        results.push(
          await client.responses.create({ model: MODEL, input: 'hi' }).then(
            (answer) => answer.output_text,
            (error: unknown) => `failed: ${String(error)}`,
          ),
        );
        expect(refusedDials(front).some((address) => address.startsWith(`${host}:`))).toBe(true);
      },
      { timeout: 15_000, interval: 20 },
    );
    expect(results).toEqual(results.map(() => 'served during the roll'));

    release();
    const response = await finished;
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('started; finished');
    expect((await exit)[0]).toBe(0);
    replicas.delete(host);
    dns.setAddresses([...REPLICA_HOSTS.filter((address) => address !== host), '127.0.0.4']);
  }, 60_000);
});
