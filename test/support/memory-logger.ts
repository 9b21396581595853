import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

/** A pino logger whose lines land, parsed, in `lines`: tests assert on what an operator would read. */
export function memoryLogger(level = 'info'): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: pino({ level }, destination) };
}
