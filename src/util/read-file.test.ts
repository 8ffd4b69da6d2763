import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { readRegularFile, streamRegularFile } from './read-file.js';

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
