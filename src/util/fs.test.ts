import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { withFileLock, writeFileAtomic } from './fs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvmctl-util-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('withFileLock', () => {
  it('runs holders one at a time and removes the lock afterwards', async () => {
    const lock = join(dir, 'lock', 'lock-1.conf');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(lock, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('releases the lock when the holder throws', async () => {
    const lock = join(dir, 'l');
    await expect(
      withFileLock(lock, async () => {
        throw new CvmError('IO', 'boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(lock)).toBe(false);
    expect(await withFileLock(lock, async () => 42)).toBe(42);
  });
});

describe('writeFileAtomic', () => {
  it('creates parent directories, replaces content and leaves no temp files', async () => {
    const path = join(dir, 'a', 'b', 'x.conf');
    await writeFileAtomic(path, 'one\n');
    await writeFileAtomic(path, 'two\n');
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['x.conf']);
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});

describe('writeFileAtomic never writes through a symlink or replaces a non-regular file', () => {
  it('refuses a symlink target in one line and leaves the file it points to untouched', async () => {
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep\n');
    symlinkSync(target, join(dir, 'x.conf'));
    await expect(writeFileAtomic(join(dir, 'x.conf'), 'new\n')).rejects.toThrow(
      `unable to write '${join(dir, 'x.conf')}' - it is a symbolic link, not a regular file`,
    );
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
    expect(lstatSync(join(dir, 'x.conf')).isSymbolicLink()).toBe(true);
  });

  it('refuses a FIFO or directory in place of the file and leaves no temp file', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await expect(writeFileAtomic(join(dir, 'fifo'), 'x')).rejects.toThrow('it is a FIFO, not a regular file');
    expect(lstatSync(join(dir, 'fifo')).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(['fifo']);
  });
});
