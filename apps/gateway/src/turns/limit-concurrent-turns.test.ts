import { ServiceUnavailableError } from '@rgw/errors';
import { createGatewayMetrics } from '@rgw/observability';
import { describe, expect, it } from 'vitest';
import { createTurnSlots } from './limit-concurrent-turns.ts';

async function gauge(metrics: ReturnType<typeof createGatewayMetrics>, name: string): Promise<number> {
  const text = await metrics.registry.metrics();
  return Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2]);
}

describe('createTurnSlots', () => {
  it('refuses past the cap with 503 server_overloaded and retry-after, and frees a slot once (a second release is a no-op)', async () => {
    const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
    const slots = createTurnSlots(2, metrics);
    const first = slots.take();
    slots.take();
    expect(await gauge(metrics, 'gateway_turns_in_flight')).toBe(2);
    const refusal = (() => {
      try {
        slots.take();
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(ServiceUnavailableError);
    expect(refusal).toMatchObject({ status: 503, code: 'server_overloaded', headers: { 'retry-after': '1' } });
    first();
    first();
    expect(await gauge(metrics, 'gateway_turns_in_flight')).toBe(1);
    slots.take();
    expect(() => slots.take()).toThrow(ServiceUnavailableError);
    expect(await gauge(metrics, 'gateway_admission_rejections_total{reason="concurrency"}')).toBe(2);
  });

  it('counts an already accepted turn over the cap, and caps nothing at 0', async () => {
    const metrics = createGatewayMetrics({ collectDefaultMetrics: false });
    const full = createTurnSlots(1, metrics);
    full.take();
    full.hold();
    expect(await gauge(metrics, 'gateway_turns_in_flight')).toBe(2);
    expect(() => full.assertRoom()).toThrow(ServiceUnavailableError);
    const uncapped = createTurnSlots(0, createGatewayMetrics({ collectDefaultMetrics: false }));
    for (let index = 0; index < 1_000; index += 1) uncapped.take();
  });
});
