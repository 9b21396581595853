import { GatewayError, InternalError } from './gateway-error.ts';

export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The OpenAI error body for any thrown value; unknown values become a detail-free 500. */
export function toErrorEnvelope(error: unknown): { status: number; body: ErrorEnvelope; headers: Readonly<Record<string, string>> } {
  const gatewayError = error instanceof GatewayError ? error : new InternalError('The server had an error while processing your request.');
  return {
    status: gatewayError.status,
    headers: gatewayError.headers,
    body: {
      error: {
        message: gatewayError.message,
        type: gatewayError.type,
        param: gatewayError.param,
        code: gatewayError.code,
      },
    },
  };
}

/** True for failures that say the backend is unhealthy: these, and only these, move the breaker. */
export function isBackendFault(error: unknown): boolean {
  return error instanceof GatewayError && (error.status === 502 || error.status === 504);
}
