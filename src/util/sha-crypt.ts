/**
 * @module util/sha-crypt
 * SHA-256-crypt (`$5$`), Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" as glibc and
 * libxcrypt implement it, because Node has no crypt(3). qemu-server stores a cloud-init
 * `cipassword` as PVE::Tools::encrypt_pw makes it: `$5$` with an 8-character salt taken from
 * base64 (`+` turned into `X`) and the default 5000 rounds; `isCryptHash` is its test for a
 * value that is already hashed and is stored as given.
 */
import { createHash, randomBytes } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;

/** The byte triples of the 32-byte digest in the order the spec encodes them. */
const ORDER_256: ReadonlyArray<readonly [number, number, number]> = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `source` repeated (and cut) to `length` bytes. */
function stretch(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0; off < length; off += source.length) source.copy(out, off, 0, Math.min(source.length, length - off));
  return out;
}

function b64From24(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/**
 * crypt(3) with a `$5$[rounds=N$]salt[$…]` setting: the password as UTF-8 (encode("utf8") in
 * encrypt_pw), the salt cut to 16 characters, rounds clamped to 1000..999999999.
 */
export function sha256Crypt(password: string, setting: string): string {
  const m = /^\$5\$(?:rounds=(\d+)\$)?([^$]*)/.exec(setting);
  if (!m) throw new Error(`not a SHA-256-crypt setting: '${setting}'`);
  const custom = m[1] !== undefined;
  const rounds = custom ? Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1]))) : ROUNDS_DEFAULT;
  const saltText = (m[2] as string).slice(0, SALT_MAX);
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(saltText, 'utf8');

  const B = sha256(P, S, P);
  const a = createHash('sha256').update(P).update(S).update(stretch(B, P.length));
  for (let n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  const A = a.digest();

  const pBytes = stretch(sha256(...Array<Buffer>(P.length).fill(P)), P.length);
  const sBytes = stretch(sha256(...Array<Buffer>(16 + (A[0] as number)).fill(S)), S.length);

  let C = A;
  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha256');
    h.update(i & 1 ? pBytes : C);
    if (i % 3) h.update(sBytes);
    if (i % 7) h.update(pBytes);
    h.update(i & 1 ? C : pBytes);
    C = h.digest();
  }

  let encoded = '';
  for (const [x, y, z] of ORDER_256) encoded += b64From24(C[x] as number, C[y] as number, C[z] as number, 4);
  encoded += b64From24(0, C[31] as number, C[30] as number, 3);
  return `$5$${custom ? `rounds=${rounds}$` : ''}${saltText}$${encoded}`;
}

/** qemu-server's test for a cipassword that is already a crypt hash (`$1$`, `$5$`, `$6$`, `$2a$`, `$2y$`). */
export function isCryptHash(value: string): boolean {
  return /^\$(?:[156]|2[ay])(\$.+){2}/.test(value);
}

/** PVE::Tools::encrypt_pw: `$5$` with a fresh 8-character salt (base64 alphabet, `+` as `X`). */
export function encryptPassword(password: string, random: (n: number) => Buffer = randomBytes): string {
  const salt = random(6).toString('base64').replace(/\+/g, 'X');
  return sha256Crypt(password, `$5$${salt}$`);
}
