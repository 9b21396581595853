import { beforeEach, describe, expect, it } from 'vitest';
import type { BreakerAdmission, BreakerTicket, CircuitBreaker } from './circuit-breaker.ts';
import { createMemoryBreaker } from './create-memory-breaker.ts';

const SCOPE = 'llm.chutes.ai/v1#deepseek-ai/DeepSeek-V3';

function ticketOf(admission: BreakerAdmission): BreakerTicket {
  if (!admission.allowed) throw new Error(`expected an admission, got ${JSON.stringify(admission)}`);
  return admission.ticket;
}

async function fail(breaker: CircuitBreaker, times: number, scope = SCOPE): Promise<void> {
  for (let i = 0; i < times; i += 1) await breaker.record(ticketOf(await breaker.acquire(scope)), 'failure');
}

describe('createMemoryBreaker', () => {
  // The breaker's injected clock: only what it reads is faked, and each test starts its own.
  let at = 0;
  const now = () => at;
  beforeEach(() => {
    at = Date.parse('2026-01-05T10:00:00Z');
  });
  const advance = (ms: number) => {
    at += ms;
  };

  it('admits every call while closed', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 3, openMs: 30_000, now });
    await fail(breaker, 2);
    const admission = await breaker.acquire(SCOPE);
    expect(admission).toMatchObject({ allowed: true, probe: false });
    expect(breaker.snapshot().get(SCOPE)).toBe('closed');
  });

  it('opens after the threshold of consecutive failures and refuses with the remaining open time', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 3, openMs: 30_000, now });
    await fail(breaker, 3);
    advance(10_000);
    expect(await breaker.acquire(SCOPE)).toEqual({ allowed: false, state: 'open', retryAfterMs: 20_000 });
    expect(breaker.snapshot().get(SCOPE)).toBe('open');
  });

  it('does not open when a success interrupts the run of failures', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 3, openMs: 30_000, now });
    await fail(breaker, 2);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'success');
    await fail(breaker, 2);
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true });
  });

  it('never counts ignored outcomes (client 4xx, client abort) as failures', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 2, openMs: 30_000, now });
    for (let i = 0; i < 10; i += 1) await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'ignored');
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true });
  });

  it('keeps scopes apart: one failing model does not block another', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 2, openMs: 30_000, now });
    await fail(breaker, 2, 'backend#model-a');
    expect(await breaker.acquire('backend#model-a')).toMatchObject({ allowed: false });
    expect(await breaker.acquire('backend#model-b')).toMatchObject({ allowed: true });
  });

  it('admits exactly one probe after the open period, and refuses the rest until the probe reports', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, probeLeaseMs: 5_000, now });
    await fail(breaker, 1);
    advance(30_000);
    const admissions = await Promise.all(Array.from({ length: 5 }, () => breaker.acquire(SCOPE)));
    expect(admissions.filter((admission) => admission.allowed)).toEqual([expect.objectContaining({ allowed: true, probe: true })]);
    expect(admissions.filter((admission) => !admission.allowed)).toHaveLength(4);
    expect(admissions[1]).toEqual({ allowed: false, state: 'half_open', retryAfterMs: 5_000 });
    expect(breaker.snapshot().get(SCOPE)).toBe('half_open');
  });

  it('closes when the probe succeeds', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, now });
    await fail(breaker, 1);
    advance(30_000);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'success');
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true, probe: false });
    expect(breaker.snapshot().get(SCOPE)).toBe('closed');
  });

  it('reopens for the open period when the probe fails', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, now });
    await fail(breaker, 1);
    advance(30_000);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'failure');
    expect(await breaker.acquire(SCOPE)).toEqual({ allowed: false, state: 'open', retryAfterMs: 30_000 });
  });

  it('doubles the open time after each failed probe, up to maxOpenMs', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 10_000, maxOpenMs: 25_000, now });
    await fail(breaker, 1);
    const openTimes: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      advance(60_000);
      await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'failure');
      const admission = await breaker.acquire(SCOPE);
      openTimes.push(admission.allowed ? -1 : admission.retryAfterMs);
    }
    expect(openTimes).toEqual([20_000, 25_000, 25_000]);
  });

  it('releases the probe lease on an ignored outcome so the next request probes at once', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, now });
    await fail(breaker, 1);
    advance(30_000);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'ignored');
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true, probe: true });
  });

  it('admits a new probe when the previous probe never reports within its lease', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, probeLeaseMs: 5_000, now });
    await fail(breaker, 1);
    advance(30_000);
    const lost = ticketOf(await breaker.acquire(SCOPE));
    advance(5_000);
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true, probe: true });
    await breaker.record(lost, 'success'); // the late report of the expired lease decides nothing
    expect(breaker.snapshot().get(SCOPE)).toBe('half_open');
  });

  it('ignores outcomes of calls admitted before the breaker changed state', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 2, openMs: 30_000, now });
    await fail(breaker, 1);
    const admittedBeforeTrip = ticketOf(await breaker.acquire(SCOPE));
    await fail(breaker, 1); // trips
    advance(30_000);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'success'); // probe closes
    await breaker.record(admittedBeforeTrip, 'failure');
    await fail(breaker, 1);
    expect(await breaker.acquire(SCOPE)).toMatchObject({ allowed: true });
  });

  it('reports every transition to its listeners until they unsubscribe', async () => {
    const breaker = createMemoryBreaker({ failureThreshold: 1, openMs: 30_000, now });
    const events: string[] = [];
    const unsubscribe = breaker.onStateChange(({ from, to }) => events.push(`${from}>${to}`));
    await fail(breaker, 1);
    advance(30_000);
    await breaker.record(ticketOf(await breaker.acquire(SCOPE)), 'success');
    unsubscribe();
    await fail(breaker, 1);
    expect(events).toEqual(['closed>open', 'open>half_open', 'half_open>closed']);
  });
});
