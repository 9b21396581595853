export * from './load-config.ts';
export * from './redis-config.ts';
