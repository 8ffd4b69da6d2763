/**
 * @module util/sha-crypt.test
 * SHA-256-crypt against the test vectors of Drepper's specification and, for random inputs,
 * against the system's own crypt(3) (libxcrypt through perl's `crypt`).
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encryptPassword, isCryptHash, sha256Crypt } from './sha-crypt.js';

describe('sha256Crypt', () => {
  it.each([
    ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
    [
      '$5$rounds=10000$saltstringsaltstring',
      'Hello world!',
      '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
    ],
    [
      '$5$rounds=5000$toolongsaltstring',
      'This is just a test',
      '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5',
    ],
    [
      '$5$rounds=1400$anotherlongsaltstring',
      'a very much longer text to encrypt.  This one even stretches over morethan one line.',
      '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1',
    ],
    [
      '$5$rounds=77777$short',
      'we have a short salt string but not a short password',
      '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/',
    ],
    [
      '$5$rounds=123456$asaltof16chars..',
      'a short string',
      '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD',
    ],
    [
      '$5$rounds=10$roundstoolow',
      'the minimum number is still observed',
      '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC',
    ],
    // libxcrypt refuses rounds below 1000; the specification clamps them, as here
  ])('%s', (setting, password, expected) => {
    expect(sha256Crypt(password, setting)).toBe(expected);
  });

  it('agrees with the system crypt(3) on random passwords and salts', () => {
    const perl = spawnSync('perl', ['-e', '1']);
    if (perl.status !== 0) throw new Error('perl is needed to compare against crypt(3)');
    const cases = fc.sample(
      fc.record({
        password: fc.string({ unit: 'grapheme', maxLength: 40 }),
        salt: fc.stringMatching(/^[A-Za-z0-9./]{1,16}$/),
      }),
      { numRuns: 40, seed: 12 },
    );
    const input = cases.map((c) => JSON.stringify([c.password, `$5$${c.salt}$`])).join('\n');
    const script =
      'use JSON::PP; use Encode; while (<STDIN>) { my ($p, $s) = @{decode_json($_)}; print crypt(encode("utf8", $p), $s), "\\n" }';
    const out = spawnSync('perl', ['-e', script], { input, encoding: 'utf8' });
    expect(out.status).toBe(0);
    const expected = out.stdout.trimEnd().split('\n');
    expect(cases.map((c) => sha256Crypt(c.password, `$5$${c.salt}$`))).toEqual(expected);
  });
});

describe('encryptPassword / isCryptHash', () => {
  it('makes an encrypt_pw-style hash: $5$, 8 salt characters without +, default rounds', () => {
    const hash = encryptPassword('secret', () => Buffer.from([0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe]));
    const salt = Buffer.from([0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe]).toString('base64').replace(/\+/g, 'X');
    expect(salt).not.toContain('+');
    expect(hash).toBe(sha256Crypt('secret', `$5$${salt}$`));
    expect(hash).toMatch(/^\$5\$[A-Za-z0-9X/]{8}\$[./0-9A-Za-z]{43}$/);
    expect(isCryptHash(hash)).toBe(true);
  });

  it('recognises the hashes qemu-server keeps as given', () => {
    for (const h of ['$1$ab$cd', '$5$ab$cd', '$6$ab$cd', '$2a$10$x', '$2y$10$x']) expect(isCryptHash(h)).toBe(true);
    for (const p of ['secret', '$5$nodollar', '$7$a$b', '5$a$b']) expect(isCryptHash(p)).toBe(false);
  });
});
