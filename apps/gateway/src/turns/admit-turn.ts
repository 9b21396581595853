import { type BreakerTicket, breakerScopeFor } from '@rgw/breaker';
import { ServiceUnavailableError } from '@rgw/errors';
import { OTHER_MODEL_LABEL } from '@rgw/observability';
import {
  type BackendProfile,
  type ChatCompletionRequest,
  type ResponseContext,
  type ResponsesRequest,
  convertResponsesRequestToChat,
  resolveBackendProfile,
} from '@rgw/responses';
import type { UpstreamCallOptions } from '@rgw/upstream';
import { resolveCatalogModel } from './resolve-catalog-model.ts';
import type { Turn } from './turn.ts';
import type { TurnDependencies } from './turn-dependencies.ts';

/** A turn that may call the backend: converted, with a breaker ticket to report its outcome on. */
export interface AdmittedTurn {
  readonly chatRequest: ChatCompletionRequest;
  readonly context: ResponseContext;
  readonly call: UpstreamCallOptions;
  /** A catalogue id or "other": the only model values metric labels take (client strings would be a cardinality attack). */
  readonly modelLabel: string;
  /** The catalogue id, or null when the catalogue could not check it. */
  readonly knownModel: string | null;
  readonly ticket: BreakerTicket;
  /** What the conversion dropped or emulated; logged here, passed to the sink (a response header). */
  readonly warnings: readonly string[];
  /** The backend's dialect for this model (detected from its catalogue entry, adjusted by BACKEND_PROFILES). */
  readonly backendProfile: BackendProfile;
}

/**
 * Everything before the backend call: the catalogue (404 for an unknown model), the backend profile
 * (the model's dialect), the conversion (400 for what cannot be translated; warnings are logged and
 * handed back for the sink), the breaker (503 with `retry-after` while it
 * is open). Throws GatewayErrors, before any event, so every transport answers them as it answers
 * errors. The breaker is asked last: a refused request never holds a ticket.
 */
export async function admitTurn(deps: TurnDependencies, turn: Turn): Promise<AdmittedTurn> {
  const { request } = turn;
  const { backendModel, knownModel } = resolveCatalogModel(deps.catalog, request.model);
  const backendProfile = resolveBackendProfile({
    model: backendModel,
    entry: knownModel === null ? undefined : deps.catalog.get(knownModel),
    overrides: deps.backendProfiles ?? [],
  });
  const { chatRequest, toolNames, warnings } = convertResponsesRequestToChat(request, {
    model: backendModel,
    unsealReasoning: deps.unsealReasoning,
    backendProfile,
  });
  if (warnings.length > 0) turn.log.warn({ warnings, backend_profile: backendProfile.name }, 'request fields the backend cannot honour were dropped');

  const admission = await deps.breaker.acquire(breakerScopeFor(deps.upstreamName, knownModel));
  if (!admission.allowed) {
    const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
    throw new ServiceUnavailableError(`The backend for '${backendModel}' is failing; the circuit breaker is open. Retry in ${seconds}s.`, {
      code: 'circuit_open',
      headers: { 'retry-after': String(seconds) },
    });
  }
  const context: ResponseContext = {
    responseId: turn.responseId,
    createdAt: turn.createdAt,
    request,
    model: backendModel,
    toolNames,
    createId: deps.createId,
    now: deps.now,
    backendProfile,
    ...(wantsEncryptedReasoning(request) ? { sealReasoning: deps.sealReasoning } : {}),
  };
  const call: UpstreamCallOptions = {
    apiKey: turn.apiKey,
    signal: turn.signal,
    ...(turn.requestId ? { requestId: turn.requestId } : {}),
    onRetry: (error: Error, attempt: number) => turn.log.warn({ attempt, reason: error.message }, 'retrying backend call'),
  };
  return { chatRequest, context, call, modelLabel: knownModel ?? OTHER_MODEL_LABEL, knownModel, ticket: admission.ticket, warnings, backendProfile };
}

/** Codex (store:false) asks for it explicitly; store:false needs it to round-trip at all. */
function wantsEncryptedReasoning(request: ResponsesRequest): boolean {
  return (request.include ?? []).includes('reasoning.encrypted_content') || request.store === false;
}
