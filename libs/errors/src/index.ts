export * from './gateway-error.ts';
export * from './error-envelope.ts';
