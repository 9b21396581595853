/**
 * A TCP proxy in front of a backend that injects connection faults (the toxiproxy toxics we need,
 * in-process): `pass`, `reset` (accept, then reset before any byte), `blackhole` (accept, never
 * answer). `resetNext(n)` resets only the next n connections.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'reset' | 'blackhole';

export interface FaultyProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Sockets currently open on the client side. */
  readonly open: () => number;
  setMode(mode: ProxyMode): void;
  resetNext(count: number): void;
  /** Destroys every open connection (pooled keep-alive ones included), so the next call connects anew. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startFaultyProxy(target: { host: string; port: number }): Promise<FaultyProxy> {
  let mode: ProxyMode = 'pass';
  let resets = 0;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (resets > 0 || mode === 'reset') {
      if (resets > 0) resets -= 1;
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') return;
    const upstream = connect(target);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    open: () => [...sockets].filter((socket) => socket.remotePort !== target.port).length,
    setMode: (next) => void (mode = next),
    resetNext: (count) => void (resets = count),
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
