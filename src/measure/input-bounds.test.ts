/**
 * @module measure/input-bounds.test
 * Hostile measurement inputs (issue 12, point 12): a section table that is not whole pages or
 * would make the digest hash terabytes of zero pages, out-of-range CPU signatures and a
 * malformed `--snp-ovmf-hash` are one-line errors with exit 2, found before any hashing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMDSEV_LIKE, buildSyntheticOvmf, type SyntheticSection } from '../../test/fixtures/measure/synthetic-ovmf.js';
import { runCommandModule } from '../../test/fixtures/measure/cli-harness.js';
import * as measureCommand from '../cli/commands/measure.js';
import { CvmError, exitCodeFor } from '../errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvmctl-measure-bounds-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function firmware(name: string, sections: SyntheticSection[]): string {
  const path = join(dir, name);
  writeFileSync(path, buildSyntheticOvmf({ ...AMDSEV_LIKE, sections }));
  return path;
}

async function measureError(args: string[]): Promise<CvmError> {
  const run = await runCommandModule(measureCommand, ['measure', ...args]);
  expect(run.error).toBeInstanceOf(CvmError);
  const err = run.error as CvmError;
  expect(exitCodeFor(err)).toBe(2);
  expect(err.message).not.toContain('\n');
  return err;
}

const snp = (ovmf: string) => ['--mode', 'snp', '--vcpus', '1', '--vcpu-type', 'EPYC-v4', '--ovmf', ovmf];

describe('SEV metadata sections an SNP digest walks', () => {
  it('refuses a section that is not whole pages, naming it', async () => {
    const path = firmware('unaligned.fd', [{ gpa: 0x900000, size: 0x1234, type: 1 }]);
    expect((await measureError(snp(path))).message).toBe(
      'OVMF SEV metadata section 0 (SNP_SEC_MEM at GPA 0x900000, size 0x1234): GPA and size must be multiples of 4096',
    );
  });

  it('refuses 200 sections of 4 GiB at once instead of hashing 2^28 pages', async () => {
    const sections = Array.from({ length: 200 }, () => ({ gpa: 0, size: 0xfffff000, type: 1 }));
    const path = firmware('huge.fd', sections);
    const started = Date.now();
    const err = await measureError(snp(path));
    expect(err.message).toMatch(/^OVMF SEV metadata section 1 \(SNP_SEC_MEM at GPA 0x0, size 0xfffff000\): overlaps section 0 /);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a section that ends beyond 4 GiB', async () => {
    const path = firmware('beyond.fd', [{ gpa: 0xfffff000, size: 0x2000, type: 1 }]);
    expect((await measureError(snp(path))).message).toContain('ends beyond 4 GiB');
  });
});

describe('CPU signature and seed flags', () => {
  const ovmf = () => firmware('ok.fd', AMDSEV_LIKE.sections ?? []);

  it.each([['0xffffffffffff'], ['-1'], ['0x100000000']])('--vcpu-sig %s is out of range', async (sig) => {
    const args = ['--mode', 'snp', '--vcpus', '1', '--vcpu-sig', sig, '--ovmf', ovmf()];
    expect((await measureError(args)).message).toBe(
      `--vcpu-sig: invalid value '${sig}' (allowed: 0 to 0xffffffff, the CPUID 1 EAX signature)`,
    );
  });

  it.each([
    ['--vcpu-family', '-1', '270'],
    ['--vcpu-family', '271', '270'],
    ['--vcpu-model', '-1', '255'],
    ['--vcpu-model', '256', '255'],
    ['--vcpu-stepping', '-1', '15'],
    ['--vcpu-stepping', '16', '15'],
  ])('%s %s is out of range', async (flag, value, max) => {
    const fms: Record<string, string> = { '--vcpu-family': '25', '--vcpu-model': '1', '--vcpu-stepping': '1', [flag]: value };
    const args = ['--mode', 'snp', '--vcpus', '1', '--ovmf', ovmf(), ...Object.entries(fms).flat()];
    expect((await measureError(args)).message).toBe(`${flag}: invalid value '${value}' (allowed: integer from 0 to ${max})`);
  });

  it('accepts the edges: signature 0xffffffff, family 270, model 255, stepping 15', async () => {
    const ok1 = await runCommandModule(measureCommand, [
      'measure',
      '--mode',
      'snp',
      '--vcpus',
      '1',
      '--vcpu-sig',
      '0xffffffff',
      '--ovmf',
      ovmf(),
    ]);
    expect(ok1.error).toBeUndefined();
    const fms = ['--vcpu-family', '270', '--vcpu-model', '255', '--vcpu-stepping', '15'];
    const ok2 = await runCommandModule(measureCommand, ['measure', '--mode', 'snp', '--vcpus', '1', ...fms, '--ovmf', ovmf()]);
    expect(ok2.error).toBeUndefined();
    expect(ok2.stdout.trim()).toMatch(/^[0-9a-f]{96}$/);
  });

  it('a malformed --snp-ovmf-hash is an input error (exit 2)', async () => {
    const err = await measureError([
      '--mode',
      'snp',
      '--vcpus',
      '1',
      '--vcpu-type',
      'EPYC-v4',
      '--ovmf',
      ovmf(),
      '--snp-ovmf-hash',
      'zz12',
    ]);
    expect(err.message).toBe("snp-ovmf-hash: invalid value 'zz12' - must be 96 hex digits (a SHA-384)");
  });
});
