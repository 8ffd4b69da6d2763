import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { makeDirs } from './mkdirs.js';

describe('makeDirs', () => {
  it('creates missing parents, tolerates existing ones and concurrent callers', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mkdirs-'));
    try {
      const deep = join(base, 'a', 'b', 'c');
      await Promise.all([makeDirs(deep, 0o750), makeDirs(deep), makeDirs(join(base, 'a'))]);
      expect(statSync(deep).isDirectory()).toBe(true);
      await makeDirs(deep); // again: nothing to do
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('names the file that is in the way', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mkdirs-'));
    try {
      writeFileSync(join(base, 'file'), '');
      await expect(makeDirs(join(base, 'file', 'sub'))).rejects.toMatchObject({
        code: 'IO',
        message: expect.stringContaining(`'${join(base, 'file')}' is not a directory`),
      });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('fails (instead of hanging like Node 20 mkdir -p) below /proc', async () => {
    const err = await makeDirs('/proc/cvmctl-nope/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CvmError);
    expect((err as CvmError).message).toMatch(/^unable to create directory '\/proc\/cvmctl-nope\/x' - /);
  }, 5000);
});
