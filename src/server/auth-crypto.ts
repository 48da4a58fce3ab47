import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * The secrets of auth, made and checked here only:
 * - API tokens and session ids are 256 random bits; the store keeps their SHA-256 (a fast hash is
 *   enough for a secret nobody can guess, and lets a request find its token by an index lookup);
 * - passwords are hashed with scrypt (memory-hard, so guessing from a stolen database is slow),
 *   with a random salt per user and the parameters stored with the hash, so they can be raised
 *   later without breaking existing users.
 */

/** Every API token starts with this, so a leaked one is easy to recognise (and to scan for). */
export const TOKEN_PREFIX = 'stint_';

/** Hex SHA-256 of a token or session id: what the store keeps. */
export function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new random secret, URL-safe. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A new API token and the hash to store; the token itself is shown once and never stored. */
export function newApiToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomSecret();
  return { token, hash: sha256(token) };
}

/** scrypt cost parameters: N = 2^15 takes ~50 ms and 32 MiB per hash. */
const N = 32768;
const R = 8;
const P = 1;
const KEY_LENGTH = 64;
/** Node's default maxmem (32 MiB) is just short of 128 * N * r; allow the parameters we read back. */
const maxmem = (n: number, r: number) => 128 * n * r * 2;

function derive(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  length: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { N: n, r, p, maxmem: maxmem(n, r) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$<salt>$<hash>` (base64): everything needed to check the password later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_LENGTH);
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** A stored hash nobody's password matches, checked for unknown users so they take as long as known ones. */
export const UNUSABLE_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_LENGTH).toString('base64')}`;

/** Whether `password` matches the stored hash (compared in constant time); false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const params = [Number(n), Number(r), Number(p)] as const;
  if (!params.every((x) => Number.isInteger(x) && x > 0)) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), ...params, expected.length);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Compares two secrets in constant time (by their hashes, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Passwords shorter than this are refused when a user is created. */
export const MIN_PASSWORD_LENGTH = 10;
