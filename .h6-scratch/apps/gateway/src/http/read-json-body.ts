import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { InvalidRequestError, PayloadTooLargeError } from '@rgw/errors';

function decoderFor(encoding: string | undefined): NodeJS.ReadWriteStream | null {
  switch ((encoding ?? 'identity').toLowerCase()) {
    case 'identity':
      return null;
    case 'gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    // Codex compresses request bodies with zstd for some providers.
    case 'zstd':
      return zlib.createZstdDecompress();
    default:
      throw new InvalidRequestError(`Unsupported Content-Encoding '${encoding}'.`, { code: 'unsupported_content_encoding' });
  }
}

/**
 * Reads and parses a JSON body, refusing it with 413 as soon as it passes `maxBytes` (decoded),
 * without buffering the rest. The rest of an oversized body is drained so the client reads our
 * answer instead of a connection reset.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    req.resume();
    throw new InvalidRequestError("Expected a JSON body with 'Content-Type: application/json'.", { code: 'unsupported_content_type' });
  }
  const declared = Number(req.headers['content-length']);
  const decoder = decoderFor(req.headers['content-encoding']);
  if (!decoder && Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge(maxBytes);
  }
  const source: Readable = decoder ? (req.pipe(decoder) as unknown as Readable) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > maxBytes) {
        if (decoder) req.unpipe(decoder as unknown as NodeJS.WritableStream);
        req.resume();
        throw tooLarge(maxBytes);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    req.resume();
    throw new InvalidRequestError('The request body could not be read (bad encoding or the client stopped sending).', { code: 'invalid_body' });
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (text.trim() === '') throw new InvalidRequestError('The request body is empty; expected a JSON object.', { code: 'invalid_json' });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`The request body is not valid JSON: ${(error as Error).message}`, { code: 'invalid_json' });
  }
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body is larger than the limit of ${maxBytes} bytes.`, { code: 'request_too_large' });
}
