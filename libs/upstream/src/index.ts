export * from './create-upstream-client.ts';
export * from './map-upstream-http-error.ts';
export * from './map-upstream-transport-error.ts';
export * from './read-chat-stream-events.ts';
