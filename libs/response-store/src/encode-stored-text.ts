import { constants, deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';

const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

/** Below this, compression saves too little to pay for its CPU (and JSON is readable in redis-cli). */
const COMPRESS_FROM_BYTES = 512;
/** Above this, (de)compression runs on libuv's thread pool instead of blocking the event loop (≈ 1 ms at level 1). */
const ASYNC_FROM_BYTES = 64 * 1024;
/** First byte of a compressed value; JSON starts with `{`, `[` or `"`, never this. */
const DEFLATED = 0x01;

export interface EncodeOptions {
  /** zlib level: 1 for records (written every turn: speed), 6 for shared blobs (written once, kept long). */
  readonly level?: number;
}

/**
 * Stored JSON as Redis keeps it: as is when short, else a marker byte and raw deflate (node:zlib).
 * Stored responses are JSON text that compresses about 2–3×; Redis memory is what bounds how many
 * turns a deployment keeps (docs/cluster.md, "Memory").
 */
export async function encodeStoredText(json: string, options: EncodeOptions = {}): Promise<Buffer> {
  const raw = Buffer.from(json, 'utf8');
  if (raw.length < COMPRESS_FROM_BYTES) return raw;
  const zlibOptions = { level: options.level ?? 1, strategy: constants.Z_DEFAULT_STRATEGY };
  const deflated = raw.length >= ASYNC_FROM_BYTES ? await deflateAsync(raw, zlibOptions) : deflateRawSync(raw, zlibOptions);
  if (deflated.length + 1 >= raw.length) return raw;
  return Buffer.concat([Buffer.of(DEFLATED), deflated]);
}

/** The JSON text back from what encodeStoredText wrote (or from plain JSON written by an earlier layout). */
export async function decodeStoredText(stored: Buffer): Promise<string> {
  if (stored[0] !== DEFLATED) return stored.toString('utf8');
  const body = stored.subarray(1);
  const inflated = body.length >= ASYNC_FROM_BYTES / 3 ? await inflateAsync(body) : inflateRawSync(body);
  return inflated.toString('utf8');
}
