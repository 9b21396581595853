/**
 * A DNS server on a free UDP port of 127.0.0.1 that answers A queries for one name with a list of
 * addresses the test changes at will: what Docker's embedded DNS (127.0.0.11) does for a compose
 * service, one A record per running replica. The Caddy front resolves its replicas through it in the
 * tests, exactly as it resolves `gateway` in compose.
 *
 * Hand-written because it is about sixty lines of RFC 1035 (header, one question, A answers): no
 * recursion, no compression beyond the pointer to the question, no TCP.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface DnsAServer {
  /** `udp/127.0.0.1:<port>`: Caddy's resolver address syntax. */
  readonly resolverAddress: string;
  readonly port: number;
  /** Replace the A records of the name (IPv4 strings); an empty list answers NXDOMAIN, as Docker does with no replica. */
  setAddresses(addresses: readonly string[]): void;
  /** How many queries for the name were answered (A and AAAA). */
  readonly queries: () => number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;

interface Question {
  /** Lower-cased labels. */
  readonly labels: string[];
  readonly type: number;
  /** The question's bytes (name, type, class), echoed in the answer. */
  readonly raw: Buffer;
}

function readQuestion(message: Buffer): Question | undefined {
  const labels: string[] = [];
  let offset = 12;
  while (offset < message.length) {
    const length = message[offset] ?? 0;
    if (length === 0) break;
    if (length > 63) return undefined; // a pointer in a query: not something a stub resolver sends
    labels.push(
      message
        .subarray(offset + 1, offset + 1 + length)
        .toString('ascii')
        .toLowerCase(),
    );
    offset += 1 + length;
  }
  const end = offset + 5; // the zero label, type, class
  if (end > message.length) return undefined;
  return { labels, type: message.readUInt16BE(offset + 1), raw: message.subarray(12, end) };
}

/**
 * Answers `name` and `name.<anything>` (a resolver may append the machine's search domains first);
 * other names get NXDOMAIN, AAAA gets an empty answer.
 */
export async function startDnsAServer(name: string, initial: readonly string[] = []): Promise<DnsAServer> {
  let addresses = [...initial];
  let answered = 0;
  const socket = createSocket('udp4');

  function answer(query: Buffer): Buffer | undefined {
    if (query.length < 12) return undefined;
    const question = readQuestion(query);
    if (question === undefined) return undefined;
    const ours = question.labels[0] === name.toLowerCase();
    if (ours) answered += 1;
    const records = ours && question.type === TYPE_A ? addresses : [];
    const rcode = !ours || addresses.length === 0 ? RCODE_NXDOMAIN : 0;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // id
    // QR, authoritative, the client's RD bit, recursion available, rcode.
    header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const answers = records.map((address) => {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      record.writeUInt16BE(TYPE_A, 2);
      record.writeUInt16BE(CLASS_IN, 4);
      record.writeUInt32BE(0, 6); // TTL 0: Docker's records change as containers come and go
      record.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, index) => record.writeUInt8(Number(octet), 12 + index));
      return record;
    });
    return Buffer.concat([header, question.raw, ...answers]);
  }

  socket.on('message', (query: Buffer, peer: RemoteInfo) => {
    const reply = answer(query);
    if (reply !== undefined) socket.send(reply, peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address() as AddressInfo;
  return {
    resolverAddress: `udp/127.0.0.1:${port}`,
    port,
    setAddresses(next) {
      addresses = [...next];
    },
    queries: () => answered,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
