/**
 * The floor: the cheapest HTTP hop a Node gateway can be. node:http in, an undici keep-alive pool out
 * (as the gateway's), bodies piped both ways without parsing. Whatever the gateway costs above this
 * is what its validation, translation, logging and metrics cost.
 * Run as its own process: `UPSTREAM_ORIGIN=http://127.0.0.1:N node scripts/node24.mjs test/bench/bare-proxy.ts` prints `{"port":N}`.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const pool = new Pool(origin, { connections: null, keepAliveTimeout: 30_000 });
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
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
