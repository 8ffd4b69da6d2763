/**
 * @module access/secrets
 * How secrets are kept: passwords as scrypt hashes (memory-hard, node:crypto; the parameters
 * and salt travel with the hash as `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, so they can be raised
 * later without breaking old entries), API token secrets as SHA-256 digests (a token secret is a
 * random UUID with 122 bits of entropy, which no dictionary attack can guess, and checking it
 * must be cheap because every token request does), compared with `timingSafeEqual`. Also the
 * `shadow.cfg` (`userid:hash:`) and `token.cfg` (`tokenid sha256:<hex>`) line formats.
 */

import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** 32 MiB and about 50-100 ms per hash on this class of machine. */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams, keylen: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params, KEY_LENGTH);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const HASH_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** A stored hash to compare against when the user has none, so timing does not tell users apart. */
let dummyHash: string | undefined;

/** True if `password` matches `stored`; a missing or malformed hash never matches (after the same work). */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<boolean> {
  const m = stored ? HASH_RE.exec(stored) : null;
  if (!m) {
    dummyHash ??= await hashPassword('', params);
    await verifyPassword(password, dummyHash, params);
    return false;
  }
  const used: ScryptParams = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (used.ln < 1 || used.ln > 22 || used.r < 1 || used.p < 1) return false;
  const expected = Buffer.from(m[5] as string, 'base64');
  if (expected.length < 16) return false;
  const actual = await scryptAsync(password, Buffer.from(m[4] as string, 'base64'), used, expected.length);
  return timingSafeEqual(actual, expected);
}

/** A new API token secret (PVE: a UUID). */
export function newTokenSecret(): string {
  return randomUUID();
}

export function hashTokenSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

export function verifyTokenSecret(secret: string, stored: string | undefined): boolean {
  const actual = Buffer.from(hashTokenSecret(secret));
  const expected = Buffer.from(stored ?? '');
  // compare equal-length buffers only; the length of a digest string is no secret
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

/** `userid:hash:` lines (PVE's priv/shadow.cfg shape). Invalid lines are skipped. */
export function parseShadow(raw: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of raw.split('\n')) {
    const m = /^(\S+?):(\S+):$/.exec(line.trim());
    if (m) map.set(m[1] as string, m[2] as string);
  }
  return map;
}

export function serializeShadow(entries: ReadonlyMap<string, string>): string {
  return [...entries.keys()]
    .sort()
    .map((userid) => `${userid}:${entries.get(userid)}:\n`)
    .join('');
}

/** `tokenid digest` lines (PVE's priv/token.cfg shape, with digests instead of secrets). */
export function parseTokenSecrets(raw: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of raw.split('\n')) {
    const m = /^(\S+)\s+(\S+)$/.exec(line.trim());
    if (m) map.set(m[1] as string, m[2] as string);
  }
  return map;
}

export function serializeTokenSecrets(entries: ReadonlyMap<string, string>): string {
  return [...entries.keys()]
    .sort()
    .map((tokenid) => `${tokenid} ${entries.get(tokenid)}\n`)
    .join('');
}
