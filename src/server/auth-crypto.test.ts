import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  newApiToken,
  sameSecret,
  sha256,
  UNUSABLE_HASH,
  verifyPassword,
} from './auth-crypto.js';

describe('auth secrets', () => {
  it('hashes passwords with scrypt, a salt per hash and the parameters stored with it', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{88}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
    // Parameters are read back from the hash, so cheaper or dearer ones still verify.
    const cheap = a.replace('scrypt$32768$', 'scrypt$1024$');
    expect(await verifyPassword('correct horse battery', cheap)).toBe(false);
    for (const bad of ['', 'plain', 'scrypt$x$8$1$a$b', 'bcrypt$1$2$3$4$5'])
      expect(await verifyPassword('anything', bad)).toBe(false);
    expect(await verifyPassword('', UNUSABLE_HASH)).toBe(false);
  });

  it('makes API tokens with 256 random bits, kept as their SHA-256', () => {
    const { token, hash } = newApiToken();
    expect(token).toMatch(/^stint_[A-Za-z0-9_-]{43}$/);
    expect(hash).toBe(sha256(token));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(newApiToken().token).not.toBe(token);
    expect(sameSecret(token, token)).toBe(true);
    expect(sameSecret(token, `${token}x`)).toBe(false);
  });
});
