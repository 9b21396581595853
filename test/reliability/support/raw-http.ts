/** Raw HTTP/1.1 over a socket, for what fetch cannot do: slow writes, lies in headers, never finishing. */
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  readonly socket: Socket;
  /** Resolves with everything received once the status line and headers arrived (and whatever body came with them). */
  readonly head: Promise<RawResponseHead>;
  /** Resolves when the server closes the connection, with all bytes received. */
  readonly closed: Promise<string>;
  write(data: string | Buffer): Promise<void>;
}

export interface RawResponseHead {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly raw: string;
}

export function openRawConnection(port: number): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      let received = '';
      let resolveHead: (head: RawResponseHead) => void = () => undefined;
      const head = new Promise<RawResponseHead>((resolveIt) => (resolveHead = resolveIt));
      const closed = new Promise<string>((resolveClosed) => socket.once('close', () => resolveClosed(received)));
      socket.on('data', (data: Buffer) => {
        received += data.toString('latin1');
        const end = received.indexOf('\r\n\r\n');
        if (end !== -1) resolveHead(parseHead(received));
      });
      resolve({
        socket,
        head,
        closed,
        write: (data) => new Promise<void>((done) => (socket.destroyed ? done() : socket.write(data, () => done()))),
      });
    });
  });
}

function parseHead(raw: string): RawResponseHead {
  const [statusLine = '', ...lines] = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, raw };
}
