import { Server as NetServer, type Socket } from 'node:net';
import type { Server } from 'node:http';

export interface ConnectionDrainer {
  /** True once `drain()` was called. */
  readonly draining: () => boolean;
  /**
   * Stops accepting connections and resolves once every connection has closed: each answer from
   * now on carries `Connection: close`, and keep-alive connections idle for `idleCloseMs` are closed.
   */
  drain(): Promise<void>;
  /** Destroys every remaining connection (the grace period is over). */
  closeAll(): void;
}

interface ConnectionState {
  active: number;
  /** performance.now() when its last response ended (or it connected). */
  idleSince: number;
}

/**
 * Graceful drain behind a pooling proxy. `server.close()` closes idle keep-alive connections at
 * once, and a proxy that picks one of them at that instant has written a POST it may not re-send
 * (nginx never retries a non-idempotent request): a 502. Proxies reuse their most recently used
 * connection first (nginx's keepalive cache is LIFO), so a connection idle for a while is one the
 * proxy is not about to use: only those are closed, and every answer while draining says
 * `Connection: close`, so busy connections close themselves.
 */
export function createConnectionDrainer(server: Server, options: { readonly idleCloseMs?: number } = {}): ConnectionDrainer {
  const idleCloseMs = options.idleCloseMs ?? 1_000;
  const connections = new Map<Socket, ConnectionState>();
  let draining = false;
  let sweep: NodeJS.Timeout | undefined;

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { active: 0, idleSince: performance.now() });
    socket.once('close', () => connections.delete(socket));
  });
  // An upgraded connection (WebSocket mode) is never idle in HTTP terms: its owner closes it when it
  // drains (1001 after its response in flight), so the drain waits for it and never cuts it as idle.
  server.prependListener('upgrade', (req) => {
    const state = connections.get(req.socket);
    if (state) state.active += 1;
  });
  server.prependListener('request', (req, res) => {
    const state = connections.get(req.socket);
    if (state) state.active += 1;
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      if (!state) return;
      state.active -= 1;
      state.idleSince = performance.now();
    });
  });

  function closeLongIdle(): void {
    const now = performance.now();
    for (const [socket, state] of connections) {
      if (state.active === 0 && now - state.idleSince >= idleCloseMs) socket.end();
    }
  }

  return {
    draining: () => draining,
    drain() {
      draining = true;
      return new Promise<void>((resolve) => {
        // net.Server's close: stop listening without http.Server's closeIdleConnections().
        NetServer.prototype.close.call(server, () => undefined);
        sweep = setInterval(() => {
          closeLongIdle();
          if (connections.size === 0) {
            clearInterval(sweep);
            resolve();
          }
        }, 50);
      });
    },
    closeAll() {
      clearInterval(sweep);
      for (const socket of connections.keys()) socket.destroy();
    },
  };
}
