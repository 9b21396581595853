export * from './model-catalog.ts';
export { createEmbeddedModelCatalog } from './create-embedded-model-catalog.ts';
export { createRedisModelCatalog, type RedisModelCatalogOptions } from './create-redis-model-catalog.ts';
export { diffModelIds } from './diff-model-ids.ts';
export { canonicaliseModels, modelKeys, publishModelSnapshot, type PublishModelsOptions } from './model-snapshot.ts';
export { parseModelList } from './model-list-schema.ts';
export { indexModels, resolveModel, type ModelIndex } from './resolve-model.ts';
