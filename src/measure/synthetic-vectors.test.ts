/**
 * Our synthetic firmware images through the real `cvmctl measure` command, against digests
 * recorded from virtee/sev-snp-measure on the very same bytes.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as measureCommand from '../cli/commands/measure.js';
import { CvmError } from '../errors.js';
import { runCommandModule } from '../../test/fixtures/measure/cli-harness.js';
import { type SyntheticFiles, writeSyntheticFiles } from '../../test/fixtures/measure/synthetic-ovmf.js';
import { AMDSEV_LIKE_OVMF_HASH, SYNTHETIC_VECTORS } from '../../test/fixtures/measure/synthetic-vectors.js';

let dir: string;
let files: SyntheticFiles;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvmctl-measure-'));
  files = writeSyntheticFiles(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expand(args: string[]): string[] {
  const values: Record<string, string> = { ...files, seed: AMDSEV_LIKE_OVMF_HASH };
  return args.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? `{${k}}`));
}

describe('cvmctl measure on synthetic firmware matches sev-snp-measure', () => {
  it.each(SYNTHETIC_VECTORS)('%s', async (_name, args, expected) => {
    const run = await runCommandModule(measureCommand, ['measure', ...expand(args)]);
    if (typeof expected === 'string') {
      expect(run.error).toBeUndefined();
      expect(run.stdout.trim()).toBe(expected);
    } else {
      expect(run.error).toBeInstanceOf(CvmError);
      expect((run.error as CvmError).code).toBe('MEASURE');
      expect((run.error as CvmError).message).toBe(expected.error);
    }
  });

  it('reports a firmware without SEV metadata in snp mode, naming the missing GUID', async () => {
    const run = await runCommandModule(measureCommand, [
      'measure',
      ...expand(['--mode', 'snp', '--vcpus', '1', '--vcpu-type', 'EPYC-v4', '--ovmf', '{noMetadata}']),
    ]);
    expect(run.error).toBeInstanceOf(CvmError);
    expect((run.error as CvmError).code).toBe('MEASURE');
    expect((run.error as CvmError).message).toMatch(/no SEV metadata.*dc886566-984a-4798-a75e-5585a7bf67cc/);
  });

  it('rejects an unknown vCPU model with a MEASURE error that names it', async () => {
    const run = await runCommandModule(measureCommand, [
      'measure',
      ...expand(['--mode', 'snp', '--vcpus', '1', '--vcpu-type', 'Skylake-Server', '--ovmf', '{amdsev}']),
    ]);
    expect((run.error as CvmError).code).toBe('MEASURE');
    expect((run.error as CvmError).message).toContain("unknown vCPU model 'Skylake-Server'");
  });

  it('bounds the vCPU count of the pure digest (one VMSA per vCPU is hashed)', async () => {
    const { calcLaunchDigest } = await import('./digest.js');
    const ovmf = readFileSync(files.amdsev);
    const input = { mode: 'seves' as const, ovmf, vcpuSig: 0x800f12, vmmType: 'QEMU' as const };
    expect(() => calcLaunchDigest({ ...input, vcpus: 4097 })).toThrow(/^vcpus: invalid value '4097' \(allowed: integer from 1 to 4096\)$/);
    expect(calcLaunchDigest({ ...input, vcpus: 2 }).length).toBe(32);
  });

  it('mirrors the reference CLI usage errors', async () => {
    const cases: Array<[string[], string]> = [
      [['--mode', 'snp', '--vcpu-type', 'EPYC', '--ovmf', '{amdsev}'], "missing --vcpus N in guest mode 'snp'"],
      [['--mode', 'snp', '--vcpus', '1', '--ovmf', '{amdsev}'], "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode 'snp'"],
      [['--mode', 'sev', '--ovmf', '{amdsev}', '--initrd', '{initrd}'], '--kernel required when using --initrd'],
      [['--mode', 'sev', '--ovmf', '{amdsev}', '--append', 'x'], '--kernel required when using --append'],
      [['--mode', 'snp', '--vcpus', '1', '--vmm-type', 'xen', '--ovmf', '{amdsev}'], "unknown VMM type 'xen'"],
      [
        ['--mode', 'seves', '--vcpus', '1', '--vcpu-type', 'EPYC', '--ovmf', '{amdsev}', '--snp-ovmf-hash', AMDSEV_LIKE_OVMF_HASH],
        'SNP OVMF hash only works with SNP',
      ],
    ];
    for (const [args, message] of cases) {
      const run = await runCommandModule(measureCommand, ['measure', ...expand(args)]);
      expect((run.error as CvmError).message).toBe(message);
    }
  });

  it('--dump-vmsa writes one VMSA per vCPU into the current directory', async () => {
    const cwd = process.cwd();
    const out = join(dir, 'dump');
    mkdirSync(out);
    process.chdir(out);
    try {
      const run = await runCommandModule(measureCommand, [
        'measure',
        ...expand(['--mode', 'seves', '--vcpus', '4', '--vcpu-type', 'EPYC', '--ovmf', '{amdsev}', '--dump-vmsa']),
      ]);
      expect(run.error).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(out).sort()).toEqual(['vmsa0.bin', 'vmsa1.bin', 'vmsa2.bin', 'vmsa3.bin']);
    const ap = readFileSync(join(out, 'vmsa1.bin'));
    expect(ap.readBigUInt64LE(0x178)).toBe(0x2f08n); // RIP = AP reset EIP & 0xffff
    expect(ap.readBigUInt64LE(0x18)).toBe(0x900000n); // CS base = EIP & 0xffff0000
    const sevRun = await runCommandModule(measureCommand, ['measure', ...expand(['--mode', 'sev', '--ovmf', '{amdsev}', '--dump-vmsa'])]);
    expect((sevRun.error as CvmError).message).toBe('--dump-vmsa is not available in the selected mode');
  });

  it('prints verbose and JSON forms', async () => {
    const verbose = await runCommandModule(measureCommand, ['measure', ...expand(['--mode', 'sev', '--ovmf', '{noFooter}', '-v'])]);
    expect(verbose.stdout).toBe('Calculated SEV guest measurement: 3b72623267ae73ec6a9df45a255692530f8ab0410f71a19cb1aba2aaa776d9ad\n');
    const json = await runCommandModule(measureCommand, [
      'measure',
      ...expand(['--mode', 'snp', '--vcpus', '2', '--vcpu-type', 'EPYC-Genoa', '--ovmf', '{amdsev}', '--json']),
    ]);
    const out = JSON.parse(json.stdout);
    expect(out.base64).toBe('Trn8karxDPhXuTtnRm22nDo9oNfyx1QfZQB1LPPJvmgb4TPiLhOrxFApzjKXaYw0');
    expect(out.measurement).toBe(Buffer.from(out.base64, 'base64').toString('hex'));
    expect(out.inputs.vcpuSig).toBe('0xa10f10');
  });
});
