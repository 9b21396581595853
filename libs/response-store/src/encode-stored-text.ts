import { constants, deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';

const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

/** Below this, compression saves too little to pay for its CPU (and JSON is readable in redis-cli). */
const COMPRESS_FROM_BYTES = 512;
/** Above this, (de)compression runs on libuv's thread pool instead of blocking the event loop (≈ 1 ms at level 1). */
const ASYNC_FROM_BYTES = 64 * 1024;
/** First byte of a compressed value; JSON starts with `{`, `[` or `"`, never these. */
const DEFLATED = 0x01;
/** Deflated against RECORD_DICTIONARY_V1. A new dictionary gets a new marker: stored data must stay readable. */
const DEFLATED_WITH_RECORD_DICTIONARY_V1 = 0x02;

/**
 * zlib preset dictionary for stored records: the field names and constant values every record
 * repeats, so even a short record compresses well (about a fifth smaller than without, for a Codex
 * turn). Frozen: records written with it are read with it; change it only under a new marker.
 */
const RECORD_DICTIONARY_V1 = Buffer.from(
  '{"response":{"id":"resp_","object":"response","created_at":1,"status":"completed","background":false,"completed_at":1,' +
    '"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"",' +
    '"output":[{"id":"rs_","type":"reasoning","summary":[{"type":"summary_text","text":""}],"content":[{"type":"reasoning_text","text":""}],' +
    '"encrypted_content":"gw1.","status":"completed"},{"id":"fc_","type":"function_call","status":"completed","arguments":"{}","call_id":"call_","name":""},' +
    '{"id":"msg_","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":""}]}],' +
    '"parallel_tool_calls":true,"previous_response_id":"resp_","conversation":null,"prompt_cache_key":null,"reasoning":{"effort":"medium","summary":"auto"},' +
    '"safety_identifier":null,"service_tier":"default","store":true,"temperature":1,"top_p":1,"top_logprobs":0,"presence_penalty":0,"frequency_penalty":0,' +
    '"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":null,"truncation":"disabled","user":null,"metadata":{},' +
    '"usage":{"input_tokens":0,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":0,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":0}},' +
    '"inputItems":[{"type":"message","role":"user","content":[{"type":"input_text","text":""}],"id":"msg_","status":"completed"},' +
    '{"type":"function_call_output","call_id":"call_","output":"","id":"fco_","status":"completed"}],"ancestorIds":["resp_"],"shared":{"tools":"","instructions":""}}',
  'utf8',
);

export interface EncodeOptions {
  /** zlib level, default 1. Records and blobs use 6: about 100 bytes less per stored turn than 1, for ~0.1 ms more CPU per save. */
  readonly level?: number;
  /** A stored record (not a blob): compressed against the record dictionary. */
  readonly record?: boolean;
}

/**
 * Stored JSON as Redis keeps it: as is when short, else a marker byte and raw deflate (node:zlib).
 * Stored responses are JSON text that compresses about 2–3×; Redis memory is what bounds how many
 * turns a deployment keeps (docs/cluster.md, "Memory").
 */
export async function encodeStoredText(json: string, options: EncodeOptions = {}): Promise<Buffer> {
  const raw = Buffer.from(json, 'utf8');
  if (raw.length < COMPRESS_FROM_BYTES) return raw;
  const zlibOptions = {
    level: options.level ?? 1,
    strategy: constants.Z_DEFAULT_STRATEGY,
    ...(options.record ? { dictionary: RECORD_DICTIONARY_V1 } : {}),
  };
  const deflated = raw.length >= ASYNC_FROM_BYTES ? await deflateAsync(raw, zlibOptions) : deflateRawSync(raw, zlibOptions);
  if (deflated.length + 1 >= raw.length) return raw;
  return Buffer.concat([Buffer.of(options.record ? DEFLATED_WITH_RECORD_DICTIONARY_V1 : DEFLATED), deflated]);
}

/** The JSON text back from what encodeStoredText wrote (or from plain JSON written by an earlier layout). */
export async function decodeStoredText(stored: Buffer): Promise<string> {
  if (stored[0] !== DEFLATED && stored[0] !== DEFLATED_WITH_RECORD_DICTIONARY_V1) return stored.toString('utf8');
  const body = stored.subarray(1);
  const zlibOptions = stored[0] === DEFLATED_WITH_RECORD_DICTIONARY_V1 ? { dictionary: RECORD_DICTIONARY_V1 } : {};
  const inflated = body.length >= ASYNC_FROM_BYTES / 3 ? await inflateAsync(body, zlibOptions) : inflateRawSync(body, zlibOptions);
  return inflated.toString('utf8');
}
