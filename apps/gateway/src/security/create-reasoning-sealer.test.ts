import { describe, expect, it } from 'vitest';
import { createReasoningSealer } from './create-reasoning-sealer.ts';

describe('createReasoningSealer', () => {
  const secret = 'a-cluster-wide-secret-of-at-least-32-chars';

  it('opens what another instance with the same key sealed (any replica)', () => {
    const blob = createReasoningSealer(secret).seal('The user wants 2+2. 思考 🤔');
    expect(blob).not.toContain('2+2');
    expect(createReasoningSealer(secret).unseal(blob)).toBe('The user wants 2+2. 思考 🤔');
  });

  it('refuses blobs sealed under another key', () => {
    const blob = createReasoningSealer(secret).seal('secret plan');
    expect(createReasoningSealer(`${secret}-other`).unseal(blob)).toBeNull();
  });

  it('refuses tampered and foreign blobs without throwing', () => {
    const sealer = createReasoningSealer(secret);
    const blob = sealer.seal('secret plan');
    const tampered = blob.slice(0, -2) + (blob.endsWith('A') ? 'BB' : 'AA');
    expect(sealer.unseal(tampered)).toBeNull();
    expect(sealer.unseal('gAAAAABoOpenAIencryptedcontent')).toBeNull();
    expect(sealer.unseal('gw1.')).toBeNull();
    expect(sealer.unseal('gw1.%%%')).toBeNull();
  });
});

describe('createReasoningSealer with a rotated key', () => {
  const old = 'the-key-before-the-rotation-0123456789';
  const current = 'the-key-after-the-rotation-9876543210';

  it('opens blobs sealed under a previous key and seals new ones under the current key only', () => {
    const before = createReasoningSealer(old).seal('planned before');
    const rotated = createReasoningSealer([current, old]);
    expect(rotated.unseal(before)).toBe('planned before');
    const after = rotated.seal('planned after');
    expect(createReasoningSealer(current).unseal(after)).toBe('planned after');
    expect(createReasoningSealer(old).unseal(after)).toBeNull();
    // Once the previous key is dropped, its blobs no longer open.
    expect(createReasoningSealer(current).unseal(before)).toBeNull();
  });
});
