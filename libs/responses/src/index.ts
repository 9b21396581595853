// The converter's public surface: pure functions between the Responses API and Chat Completions.
export * from './converter-contract.ts';
export * from './responses-request-schema.ts';
export type * from './chat-request.ts';
export * from './convert-responses-request-to-chat.ts';
export * from './chat-chunk-schema.ts';
export * from './map-chat-backend-error.ts';
export * from './create-response-event-converter.ts';
export * from './convert-chat-completion-to-stream-events.ts';
export * from './build-response-skeleton.ts';
export * from './map-chat-usage.ts';
export * from './map-chat-finish-reason.ts';
export * from './terminal-event.ts';
export * from './build-failure-events.ts';
export type { UpstreamStreamError } from './upstream-stream-error.ts';
export * from './backend-profile.ts';
export { RESPONSES_TOOL_TYPES, type ResponsesToolType } from './responses-tool-types.ts';
