import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { readRegularFile, streamRegularFile, withRegularFile } from './read-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvmctl-read-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).not.toContain('\n');
    return (err as CvmError).message;
  }
  throw new Error('expected a refusal');
}

const opts = { what: 'attestation report', maxBytes: 1184 };

describe('readRegularFile', () => {
  it('reads a regular file within the limit', async () => {
    writeFileSync(join(dir, 'r'), Buffer.alloc(1184, 7));
    expect((await readRegularFile(join(dir, 'r'), opts)).equals(Buffer.alloc(1184, 7))).toBe(true);
  });

  it('refuses /dev/zero, a FIFO and a symlink to a device at once, in one line', async () => {
    expect(await refusal(readRegularFile('/dev/zero', opts))).toBe(
      "unable to read attestation report '/dev/zero' - it is a device, not a regular file",
    );
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(await refusal(readRegularFile(join(dir, 'fifo'), opts))).toBe(
      `unable to read attestation report '${join(dir, 'fifo')}' - it is a FIFO, not a regular file`,
    );
    symlinkSync('/dev/zero', join(dir, 'z'));
    expect(await refusal(readRegularFile(join(dir, 'z'), opts))).toMatch(/it is a device, not a regular file$/);
  });

  it('refuses a file over the limit before reading it', async () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(1185));
    expect(await refusal(readRegularFile(join(dir, 'big'), opts))).toBe(
      `unable to read attestation report '${join(dir, 'big')}' - 1185 bytes is more than the 1184 bytes allowed`,
    );
  });

  it('with noFollow refuses a symlink even to a regular file; /dev/null reads as empty only for user inputs', async () => {
    writeFileSync(join(dir, 'real'), 'x');
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect((await readRegularFile(join(dir, 'link'), opts)).toString()).toBe('x');
    expect(await refusal(readRegularFile(join(dir, 'link'), { ...opts, noFollow: true }))).toMatch(
      /it is a symbolic link, not a regular file$/,
    );
    expect((await readRegularFile('/dev/null', opts)).length).toBe(0);
    expect(await refusal(readRegularFile('/dev/null', { ...opts, noFollow: true }))).toMatch(/it is a device/);
  });
});

describe('streamRegularFile', () => {
  it('streams a file in chunks and refuses /dev/zero', async () => {
    writeFileSync(join(dir, 'k'), Buffer.alloc(3 * 1024 * 1024 + 5, 1));
    let n = 0;
    expect(await streamRegularFile(join(dir, 'k'), { what: 'kernel', maxBytes: 4 * 1024 * 1024 }, (c) => (n += c.length))).toBe(
      3 * 1024 * 1024 + 5,
    );
    expect(n).toBe(3 * 1024 * 1024 + 5);
    expect(await refusal(streamRegularFile('/dev/zero', { what: 'kernel', maxBytes: 10 }, () => undefined))).toMatch(/not a regular file$/);
  });
});

describe('withRegularFile (reused read buffer)', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('lends exactly the file bytes, also after a larger file used the buffer', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(300 * 1024, 0xaa));
    writeFileSync(join(dir, 'small'), Buffer.from('hello'));
    expect(withRegularFile(join(dir, 'big'), opts4m, (b) => sha(b))).toBe(sha(Buffer.alloc(300 * 1024, 0xaa)));
    expect(withRegularFile(join(dir, 'small'), opts4m, (b) => b.toString())).toBe('hello');
    expect(withRegularFile('/dev/null', opts4m, (b) => b.length)).toBe(0);
  });

  it('refuses what readRegularFile refuses, and a throwing user leaves the next read intact', () => {
    expect(() => withRegularFile('/dev/zero', opts4m, () => 0)).toThrow(/it is a device, not a regular file$/);
    writeFileSync(join(dir, 'f'), Buffer.from('abc'));
    expect(() =>
      withRegularFile(join(dir, 'f'), opts4m, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(withRegularFile(join(dir, 'f'), opts4m, (b) => b.toString())).toBe('abc');
  });

  it('concurrent streams hash each file correctly (kernel and initrd are hashed together)', async () => {
    const a = Buffer.alloc(2 * 1024 * 1024 + 3, 1);
    const b = Buffer.alloc(3 * 1024 * 1024 + 7, 2);
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    // read a lent buffer first so the spare exists and one stream gets it
    withRegularFile(join(dir, 'b'), opts4m, () => undefined);
    const hashOf = async (path: string) => {
      const h = createHash('sha256');
      await streamRegularFile(path, opts4m, (chunk) => h.update(chunk));
      return h.digest('hex');
    };
    expect(await Promise.all([hashOf(join(dir, 'a')), hashOf(join(dir, 'b'))])).toEqual([sha(a), sha(b)]);
  });
});

const opts4m = { what: 'firmware', maxBytes: 4 * 1024 * 1024 };
