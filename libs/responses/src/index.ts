// The converter's public surface: pure functions between the Responses API and Chat Completions.
export * from './converter-contract.ts';
export * from './responses-request-schema.ts';
export type * from './chat-request.ts';
export * from './convert-responses-request-to-chat.ts';
export * from './chat-chunk-schema.ts';
export * from './map-chat-backend-error.ts';
export * from './convert-chat-stream-to-responses-events.ts';
export * from './convert-chat-completion-to-stream-events.ts';
export * from './build-response-skeleton.ts';
export * from './map-chat-usage.ts';
export * from './map-chat-finish-reason.ts';
