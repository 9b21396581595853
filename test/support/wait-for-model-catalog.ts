/**
 * Waits (vi.waitFor) until a gateway serves its model list: the catalogue loads in the background at
 * start, and until it has, every model is unknown. For set-up, before the requests a test makes.
 */
import { vi } from 'vitest';

/** `baseURL` is the gateway's (or nginx's) `…/v1`. */
export async function waitForModelCatalog(baseURL: string, apiKey: string, timeout = 10_000): Promise<void> {
  await vi.waitFor(
    async () => {
      const response = await fetch(`${baseURL}/models`, { headers: { authorization: `Bearer ${apiKey}` } });
      if (response.status !== 200) throw new Error(`GET /v1/models answered ${response.status}: the model catalogue has not loaded`);
    },
    { timeout, interval: 50 },
  );
}
