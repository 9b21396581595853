export * from './load-config.ts';
export { describeConfigIssues, describeExpected } from './describe-config-issues.ts';
export { readSetVariables } from './read-set-variables.ts';
export { describeListenError } from './describe-listen-error.ts';
export * from './redis-config.ts';
export { readUpstreamCa } from './read-upstream-ca.ts';
