/**
 * V8 flags the gateway process runs with, wherever it is started: `npm start`, the Dockerfile's CMD,
 * the Helm chart, the test harness and the benchmark (test/deploy/dockerfile.test.ts and
 * helm-chart.test.ts hold the first three to this list). They must be command-line flags: V8 sizes its heap when the process
 * starts, so setting them from inside main.ts does nothing.
 *
 * `--max-semi-space-size=16` (MB): on a machine with plenty of memory V8 lets the young generation
 * grow to 3 × 64 MB, and a burst of 1,000 new streams then grows the heap to about 210 MB for
 * 80–110 MB of live objects. Capped, peak RSS with 1,000 open streams fell from about 300 MB; among
 * caps of 4, 8, 12, 16, 24 and 32 MB, 16 gave the lowest peak in repeated runs (212–228 MB against
 * 248–253 at 8: a smaller young generation promotes the streams' short-lived garbage into the old
 * one), with no measurable change in CPU per request (docs/benchmarks.md).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
