/**
 * End to end through the real command modules and the real store / host-profile / cfg2cmd
 * packages: `cvmctl measure <vmid>` on a Proxmox-style SNP config with measured direct boot
 * (synthetic firmware + kernel), and `cvmctl attest verify|show` on the Milan report.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as attestCommand from '../../src/cli/commands/attest.js';
import * as measureCommand from '../../src/cli/commands/measure.js';
import { CvmError } from '../../src/errors.js';
import { runCommandModule } from '../fixtures/measure/cli-harness.js';
import { type SyntheticFiles, writeSyntheticFiles } from '../fixtures/measure/synthetic-ovmf.js';
import { SYNTHETIC_VECTORS } from '../fixtures/measure/synthetic-vectors.js';
import { AMD_TURIN_9005 } from '../../src/host/profiles/pve-test.js';

const ATTEST = join(import.meta.dirname, '../fixtures/attest');
let root: string;
let files: SyntheticFiles;
let profile: string;
let reportBin: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-e2e-measure-'));
  files = writeSyntheticFiles(join(root, 'synth'));
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  const args = `-kernel ${files.kernel} -initrd ${files.initrd} -append 'console=ttyS0 root=/dev/vda'`;
  writeFileSync(
    join(root, 'qemu-server', '8006.conf'),
    `amd-sev: type=snp,kernel-hashes=1\nbios: ovmf\ncores: 2\nsockets: 2\ncpu: EPYC-Milan\nmemory: 2048\nargs: ${args}\n`,
  );
  writeFileSync(
    join(root, 'qemu-server', '8007.conf'),
    'amd-sev: type=snp,no-debug=1\nbios: ovmf\ncores: 1\ncpu: EPYC-Milan\nmemory: 2048\n',
  );
  writeFileSync(
    join(root, 'qemu-server', '8008.conf'),
    'amd-sev: type=snp,no-debug=yes,allow-smt=off\nbios: ovmf\ncores: 1\ncpu: EPYC-Milan\nmemory: 2048\n',
  );
  writeFileSync(
    join(root, 'qemu-server', '8009.conf'),
    'amd-sev: type=snp,no-debug=1\nbios: ovmf\nhotplug: disk,network,usb,cpu\nsockets: 2\ncores: 2\nvcpus: 3\ncpu: EPYC-Milan\nmemory: 2048\n',
  );
  writeFileSync(
    join(root, 'qemu-server', '8010.conf'),
    'amd-sev: type=snp,no-debug=1\nbios: ovmf\ncores: 2\ncpu: x86-64-v2-AES\nmemory: 2048\n',
  );
  profile = join(root, 'turin.json');
  writeFileSync(
    profile,
    JSON.stringify({
      base: 'pve-test',
      hwCapabilities: structuredClone(AMD_TURIN_9005),
    }),
  );
  reportBin = join(root, 'report.bin');
  writeFileSync(reportBin, Buffer.from(readFileSync(join(ATTEST, 'report_milan.hex'), 'utf8').trim(), 'hex'));
  copyFileSync(join(ATTEST, 'vcek_milan.der'), join(root, 'vcek.der'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const vector = (name: string) => SYNTHETIC_VECTORS.find(([n]) => n === name)![2] as string;

describe('cvmctl measure <vmid>', () => {
  it('derives mode, vCPUs, CPU, firmware and kernel hashes from the VM and matches sev-snp-measure', async () => {
    const run = await runCommandModule(
      measureCommand,
      ['measure', '8006', '--host', profile, '--ovmf', files.amdsev, '--guest-features', '0x21', '--json'],
      ['--root', root],
    );
    expect(run.error).toBeUndefined();
    const out = JSON.parse(run.stdout);
    expect(out.inputs).toMatchObject({ mode: 'snp', vcpus: 4, vcpuModel: 'EPYC-Milan', kernelHashes: true, policy: '0xb0000' });
    expect(out.measurement).toBe(vector('snp 4 Milan kernel+initrd+append feat 0x21'));
  });

  it('uses SEV_FEATURES 0x1 by default, like QEMU + OVMF on Linux >= 6.8', async () => {
    const run = await runCommandModule(measureCommand, ['measure', '8006', '--host', profile, '--ovmf', files.amdsev], ['--root', root]);
    expect(run.stdout.trim()).toBe(vector('snp 4 Milan kernel+initrd+append default features'));
  });

  it('counts CPUs cold-plugged by CPU hotplug (-smp 1 + -device) as initial vCPUs', async () => {
    // digest from sev-snp-measure --mode snp --vcpus 3 --vcpu-type EPYC-Milan on the same synthetic firmware
    const run = await runCommandModule(
      measureCommand,
      ['measure', '8009', '--host', profile, '--ovmf', files.amdsev, '--json'],
      ['--root', root],
    );
    expect(run.error).toBeUndefined();
    const out = JSON.parse(run.stdout);
    expect(out.inputs).toMatchObject({ vcpus: 3, vcpuModel: 'EPYC-Milan' });
    expect(out.measurement).toBe('99e151e848470ecd3f47b4ac19118235241eae24af31ce6a653586632d9b6606f9bae85f5a019cae142fad7cca1a13d3');
  });

  it('measures Proxmox x86-64-v2-AES with the qemu64 signature of current QEMU', async () => {
    // sev-snp-measure --mode snp --vcpus 2 --vcpu-sig 0x60FB1 (family 15, model 107, stepping 1)
    const run = await runCommandModule(
      measureCommand,
      ['measure', '8010', '--host', profile, '--ovmf', files.amdsev, '--json'],
      ['--root', root],
    );
    expect(run.error).toBeUndefined();
    const out = JSON.parse(run.stdout);
    expect(out.inputs).toMatchObject({ vcpus: 2, vcpuModel: 'qemu64' });
    expect(out.measurement).toBe('e3beecc40713248ddb424ff99c08b809ffeee96a03d8748353ceed9b1045550c9700dffc78708149415f5d4eb1f73023');
  });

  it('reports a missing VM', async () => {
    const run = await runCommandModule(measureCommand, ['measure', '9999', '--host', profile], ['--root', root]);
    expect((run.error as CvmError).code).toBe('VM_NOT_FOUND');
  });
});

describe('cvmctl attest', () => {
  it('verify passes on the Milan report with its VCEK (built-in chain)', async () => {
    const run = await runCommandModule(attestCommand, ['attest', 'verify', '--report', reportBin, '--vcek', join(root, 'vcek.der')]);
    expect(run.error).toBeUndefined();
    expect(run.stdout).toMatch(/^report\.signature\s+PASS/m);
    expect(run.stdout).toMatch(/^chain\.ark\s+PASS\s+ARK-Milan is the pinned AMD root/m);
  });

  it('verify fails with ATTESTATION_FAILED on a tampered report and names the check', async () => {
    const bad = join(root, 'bad.bin');
    const bytes = readFileSync(reportBin) as Buffer;
    bytes[0x90]! ^= 1;
    writeFileSync(bad, bytes);
    const run = await runCommandModule(attestCommand, [
      'attest',
      'verify',
      '--report',
      bad,
      '--vcek',
      join(root, 'vcek.der'),
      '--chain',
      join(ATTEST, 'cert_chain_milan'),
    ]);
    expect(run.error).toBeInstanceOf(CvmError);
    expect((run.error as CvmError).code).toBe('ATTESTATION_FAILED');
    expect((run.error as CvmError).message).toContain('report.signature');
    expect(run.stdout).toMatch(/^report\.signature\s+FAIL/m);
  });

  it('verify --vmid compares policy and measurement with the VM', async () => {
    const run = await runCommandModule(
      attestCommand,
      ['attest', 'verify', '--report', reportBin, '--vcek', join(root, 'vcek.der'), '--vmid', '8007', '--host', profile, '--json'],
      ['--root', root],
    );
    const out = JSON.parse(run.stdout);
    const byId = Object.fromEntries(out.checks.map((c: { id: string; status: string }) => [c.id, c.status]));
    expect(byId.policy).toBe('pass'); // no-debug=1 ⇒ 0x30000, as in the report
    expect(byId.measurement).toBe('fail'); // the generated -bios path does not exist here
    expect((run.error as CvmError).code).toBe('ATTESTATION_FAILED');
  });

  it('verify --vmid reads boolean words in amd-sev like qemu-server (allow-smt=off ⇒ no SMT bit)', async () => {
    const run = await runCommandModule(
      attestCommand,
      ['attest', 'verify', '--report', reportBin, '--vcek', join(root, 'vcek.der'), '--vmid', '8008', '--host', profile, '--json'],
      ['--root', root],
    );
    const out = JSON.parse(run.stdout);
    const policy = out.checks.find((c: { id: string }) => c.id === 'policy');
    expect(policy).toMatchObject({ status: 'fail', detail: 'report 0x30000, expected 0x20000' });
  });

  it('show prints named fields and explains POLICY and PLATFORM_INFO', async () => {
    const run = await runCommandModule(attestCommand, ['attest', 'show', '--report', join(ATTEST, 'report_milan.hex')]);
    expect(run.error).toBeUndefined();
    expect(run.stdout).toMatch(/MEASUREMENT\s+7a1e5c26/);
    expect(run.stdout).toMatch(/SMT_EN\s+1/);
    expect(run.stdout).toMatch(/POLICY\s+0x30000/);
    const json = await runCommandModule(attestCommand, ['attest', 'show', '--report', reportBin, '--json']);
    expect(JSON.parse(json.stdout).reportedTcb).toMatchObject({ bootloader: 3, snp: 8, microcode: 115 });
  });
});
