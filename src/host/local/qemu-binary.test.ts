import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findQemuBinary, qemuBinaryFacts } from './qemu-binary.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-qemubin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const binary = await findQemuBinary('x86_64');

describe.skipIf(!binary)(`QEMU facts cache in the state root${binary ? '' : ' (skipped: no qemu-system binary)'}`, () => {
  it('is written once and read back; a symlink or FIFO planted in its place is neither followed nor read', async () => {
    const bin = binary as string;
    const cache = join(dir, 'cache');
    const facts = await qemuBinaryFacts(bin, cache);
    const [name] = readdirSync(cache);
    expect(JSON.parse(readFileSync(join(cache, name as string), 'utf8'))).toEqual(facts);

    // the same name as a symlink to a victim file: facts are probed again, the victim stays as it was
    rmSync(join(cache, name as string));
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep\n');
    symlinkSync(victim, join(cache, name as string));
    expect(await qemuBinaryFacts(bin, cache)).toEqual(facts);
    expect(readFileSync(victim, 'utf8')).toBe('keep\n');

    // a FIFO there must not block the probe
    rmSync(join(cache, name as string));
    execFileSync('mkfifo', [join(cache, name as string)]);
    expect(await qemuBinaryFacts(bin, cache)).toEqual(facts);
  });
});
