import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideSlidingWindow } from './decide-sliding-window.ts';

const windowMs = 60_000;
const inputs = fc
  .record({
    limit: fc.integer({ min: 1, max: 1_000 }),
    previous: fc.integer({ min: 0, max: 1_000 }),
    current: fc.integer({ min: 0, max: 1_000 }),
    elapsedMs: fc.integer({ min: 0, max: windowMs - 1 }),
    cost: fc.integer({ min: 1, max: 50 }),
  })
  .map((input) => ({ ...input, windowMs }));

/** Usage at `elapsedMs` after `waitMs` more, assuming nothing else arrives. */
function usageAfter(input: { previous: number; current: number; elapsedMs: number }, waitMs: number): number {
  const at = input.elapsedMs + waitMs;
  if (at < windowMs) return input.previous * (1 - at / windowMs) + input.current;
  if (at < 2 * windowMs) return input.current * (1 - (at - windowMs) / windowMs);
  return 0;
}

describe('decideSlidingWindow (properties)', () => {
  it('allows exactly when usage plus cost fits the limit, and reports remaining within [0, limit]', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const decision = decideSlidingWindow(input);
        const used = input.previous * (1 - input.elapsedMs / windowMs) + input.current;
        expect(decision.allowed).toBe(used + input.cost <= input.limit);
        expect(decision.remaining).toBeGreaterThanOrEqual(0);
        expect(decision.remaining).toBeLessThanOrEqual(input.limit);
        expect(decision.allowed ? decision.retryAfterMs === 0 : decision.retryAfterMs >= 1).toBe(true);
      }),
    );
  });

  it('a refused request that waits retryAfterMs fits then, and would not have fit 1 % earlier', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        fc.pre(input.cost <= input.limit);
        const decision = decideSlidingWindow(input);
        fc.pre(!decision.allowed);
        expect(usageAfter(input, decision.retryAfterMs) + input.cost).toBeLessThanOrEqual(input.limit + 1e-9);
        const early = Math.floor(decision.retryAfterMs * 0.99) - 1;
        // A wait too short to have an "earlier" (early <= 0) has nothing to check: Infinity passes.
        const usageEarly = early > 0 ? usageAfter(input, early) + input.cost : Number.POSITIVE_INFINITY;
        expect(usageEarly).toBeGreaterThan(input.limit - 1e-6);
      }),
    );
  });
});
