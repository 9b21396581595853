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
