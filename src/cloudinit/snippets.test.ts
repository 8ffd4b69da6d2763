/**
 * readCustomFiles (read_cloudinit_snippets_file): a `cicustom` volume is read from a snippets
 * storage; a volume of another content type and a snippet over 1 MiB are refused with
 * qemu-server's texts.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageConfig } from '../storage/types.js';
import { readCustomFiles } from './image.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-ci-snippets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'snippets'));
mkdirSync(join(dir, 'template', 'iso'), { recursive: true });

const storage: StorageConfig = { local: { type: 'dir', path: dir, content: ['snippets', 'iso'] } };

describe('cicustom snippets', () => {
  it('reads each named snippet by kind', async () => {
    writeFileSync(join(dir, 'snippets', 'u.yaml'), '#cloud-config\nruncmd: [true]\n');
    writeFileSync(join(dir, 'snippets', 'n.yaml'), 'version: 1\n');
    const files = await readCustomFiles({ cicustom: 'user=local:snippets/u.yaml,network=local:snippets/n.yaml' }, storage);
    expect(files).toEqual({ user: '#cloud-config\nruncmd: [true]\n', network: 'version: 1\n' });
  });

  it('refuses a volume that is not a snippet, a missing snippet and one over 1 MiB', async () => {
    writeFileSync(join(dir, 'template', 'iso', 'x.iso'), 'x');
    await expect(readCustomFiles({ cicustom: 'user=local:iso/x.iso' }, storage)).rejects.toMatchObject({
      code: 'PARAM_INVALID',
      message: 'local:iso/x.iso is not in the snippets directory',
    });
    await expect(readCustomFiles({ cicustom: 'meta=local:snippets/none.yaml' }, storage)).rejects.toMatchObject({
      code: 'IO',
      message: `unable to open file '${join(dir, 'snippets', 'none.yaml')}' - No such file or directory`,
    });
    writeFileSync(join(dir, 'snippets', 'big.yaml'), 'a'.repeat(1024 * 1024 + 1));
    await expect(readCustomFiles({ cicustom: 'vendor=local:snippets/big.yaml' }, storage)).rejects.toMatchObject({
      code: 'PARAM_INVALID',
      message: `file '${join(dir, 'snippets', 'big.yaml')}' too long - aborting`,
    });
  });
});
