/**
 * The floor: the cheapest HTTP hop a Node gateway can be. node:http in, an undici keep-alive pool out
 * (as the gateway's), bodies piped both ways without parsing. Whatever the gateway costs above this
 * is what its validation, translation, logging and metrics cost.
 * Run as its own process: `UPSTREAM_ORIGIN=http://127.0.0.1:N node scripts/node24.mjs test/bench/bare-proxy.ts` prints `{"port":N}`.
 * `UPSTREAM_HTTP2=true` and `UPSTREAM_TLS_CA_FILE` as the gateway's (h2 by ALPN to a TLS backend).
 * `GET /_stats` answers its event-loop delay p99 since the last call (ms), as the gateway's /metrics does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the pool sets itself.
const DROPPED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED.has(name)) kept[name] = value;
  }
  return kept;
}

if (import.meta.main) {
  const origin = process.env['UPSTREAM_ORIGIN'];
  if (!origin) throw new Error('UPSTREAM_ORIGIN is required');
  const caFile = process.env['UPSTREAM_TLS_CA_FILE'];
  const pool = new Pool(origin, {
    connections: null,
    keepAliveTimeout: 30_000,
    // undici offers h2 by ALPN to TLS origins; preferred here as the gateway's UPSTREAM_HTTP2 does.
    connect: { ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }), ...(process.env['UPSTREAM_HTTP2'] === 'true' ? { preferH2: true } : {}) },
  });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    if (req.url === '/_stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ eventLoopDelayP99Ms: delay.percentile(99) / 1e6 }));
      delay.reset();
      return;
    }
    pool
      .request({
        path: req.url ?? '/',
        method: req.method === 'POST' ? 'POST' : 'GET',
        headers: forwardable(req.headers),
        body: req.method === 'POST' ? req : null,
      })
      .then(async (upstream) => {
        res.writeHead(upstream.statusCode, forwardable(upstream.headers));
        await pipeline(upstream.body, res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
