/**
 * Thrown by a stream's write when the client took no bytes for CLIENT_SEND_TIMEOUT_MS while our
 * socket buffer was full. The transport has already closed the client's connection (nothing more can
 * reach a client that does not read); the turn runner's throw path then aborts the backend call. It
 * is the client's failure: the turn ends as a client abort (the breaker hears "ignored").
 */
export class ClientSendTimeout extends Error {
  override readonly name = 'ClientSendTimeout';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`The client read nothing for ${timeoutMs} ms (CLIENT_SEND_TIMEOUT_MS); its stream was closed.`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Waits for `drained` (a promise that settles once the socket took the queued bytes, or failed) at most
 * `timeoutMs`; past it, `close` is called (it must tear the connection down) and ClientSendTimeout is thrown.
 * Undefined `timeoutMs`: waits as long as it takes.
 */
export function boundSend(drained: Promise<void>, timeoutMs: number | undefined, close: () => void): Promise<void> {
  if (timeoutMs === undefined) return drained;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      close();
      reject(new ClientSendTimeout(timeoutMs));
    }, timeoutMs);
    drained.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
