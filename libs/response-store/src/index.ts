// Stored responses: the store interface, its memory and Redis implementations, and the pure
// helpers the gateway's stored-response endpoints are built from.
export * from './response-store.ts';
export { createApiKeyHasher } from './create-api-key-hasher.ts';
export { createMemoryResponseStore, type MemoryResponseStoreOptions } from './create-memory-response-store.ts';
export { createRedisResponseStore, responseKey, itemKey, type RedisResponseStoreOptions } from './create-redis-response-store.ts';
export { normalizeInputItems } from './normalize-input-items.ts';
export { paginateInputItems, type InputItemsPage, type PaginationQuery } from './paginate-input-items.ts';
export { buildConversationItems } from './build-conversation-items.ts';
