import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startGateway } from './start-gateway.ts';

it('rejects with the captured stderr when the gateway exits before listening', async () => {
  const emptyDirectory = await mkdtemp(join(tmpdir(), 'no-gateway-'));
  try {
    await expect(startGateway({ env: { UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' }, cwd: emptyDirectory })).rejects.toThrow(
      /exited \(1\) before listening[\s\S]*Cannot find module/,
    );
  } finally {
    await rm(emptyDirectory, { recursive: true, force: true });
  }
});
