import type { ServerResponse } from 'node:http';
import { setWarningsHeader } from '../http/warnings-header.ts';
import { mapResponseFailure } from '../turns/map-response-failure.ts';
import type { TurnSink } from '../turns/turn-sink.ts';

/**
 * The JSON transport of a turn (`stream` unset or false): the runner makes one non-streamed backend
 * call (cheaper for the backend and for us), and the answer is the final Response, serialised once
 * for the store and this body. A failed response is an HTTP error, as OpenAI answers it, not a 200
 * with status "failed".
 */
export function createJsonSink(res: ServerResponse): TurnSink {
  return {
    streaming: false,
    admitted({ warnings }) {
      setWarningsHeader(res, warnings);
    },
    write: () => undefined,
    finish({ response, json }) {
      if (response.status === 'failed') throw mapResponseFailure(response.error?.code, response.error?.message ?? 'The backend failed.');
      // Written directly rather than through express's res.json: its content-type and freshness
      // handling is a tenth of a non-streamed request's CPU, for an answer whose headers are known.
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    },
  };
}
