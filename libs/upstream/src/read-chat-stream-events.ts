import { createParser, type EventSourceMessage, ParseError } from 'eventsource-parser';
import { type ChatStreamEvent, parseChatChunk } from '@rgw/responses';
import { redactSecrets } from '@rgw/observability';
import { classifyTransportError } from './map-upstream-transport-error.ts';

export interface ReadChatStreamOptions {
  /** Largest single SSE event we buffer, in characters. A larger one fails the stream cleanly instead of eating memory. */
  readonly maxEventBytes: number;
}

/**
 * bytes → text → SSE events → parsed chunks. Failures are yielded as values (`{type:'error'}`), never
 * thrown, so the converter can always close the Responses stream properly. Aborts by our own client
 * are rethrown: nobody is listening any more.
 */
export async function* readChatStreamEvents(body: AsyncIterable<Uint8Array>, options: ReadChatStreamOptions): AsyncGenerator<ChatStreamEvent> {
  const pending: ChatStreamEvent[] = [];
  let parseFailure: ParseError | null = null;
  let sawDone = false;
  const parser = createParser({
    maxBufferSize: options.maxEventBytes,
    onEvent(message: EventSourceMessage) {
      if (sawDone || parseFailure) return;
      const data = message.data;
      // The parser's buffer limit only sees events spread over several reads; one that arrived in a
      // single read is checked here, so the limit holds however the bytes were cut.
      if (data.length > options.maxEventBytes) {
        parseFailure ??= new ParseError('event too large', { type: 'max-buffer-size-exceeded' });
        return;
      }
      if (data === '[DONE]') {
        sawDone = true;
        pending.push({ type: 'done' });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        pending.push({ type: 'error', error: { code: 'server_error', message: 'The backend sent a malformed stream chunk (invalid JSON).' } });
        return;
      }
      // An error payload mid-stream (`data: {"error":…}`) comes back as a value, like a malformed chunk.
      const parsed = parseChatChunk(json);
      if (parsed.success) pending.push({ type: 'chunk', chunk: parsed.chunk });
      else pending.push({ type: 'error', error: { code: parsed.error.code, message: redactSecrets(parsed.error.message) } });
    },
    onError(error: ParseError) {
      // Unknown fields and bad retry values are harmless; a buffer overflow is not.
      if (error.type === 'max-buffer-size-exceeded') parseFailure = error;
    },
  });

  const decoder = new TextDecoder('utf-8');
  try {
    for await (const bytes of body) {
      // stream: true keeps a multi-byte character split across TCP chunks intact.
      parser.feed(decoder.decode(bytes, { stream: true }));
      // Events parsed before a failure in the same read still count, in order.
      while (pending.length > 0) {
        const event = pending.shift()!;
        yield event;
        if (event.type === 'error') return;
      }
      if (parseFailure) {
        yield { type: 'error', error: { code: 'server_error', message: `The backend sent a stream event larger than ${options.maxEventBytes} bytes.` } };
        return;
      }
      if (sawDone) return;
    }
    parser.feed(decoder.decode());
    parser.reset({ consume: true });
    for (const event of pending) yield event;
  } catch (error) {
    if (classifyTransportError(error) === 'aborted') throw error;
    const kind = classifyTransportError(error);
    yield {
      type: 'error',
      error:
        kind === 'timeout'
          ? { code: 'server_error', message: 'The backend stopped sending data (idle timeout).' }
          : { code: 'server_error', message: 'The backend connection was cut mid-stream.' },
    };
  }
}
