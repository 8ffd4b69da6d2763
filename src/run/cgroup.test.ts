import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuCgroup, changeCpuQuota, changeCpuShares, clampCpuShares, cpuQuotaUs, sliceFor } from './cgroup.js';

const dir = mkdtempSync(join(tmpdir(), 'cvmctl-cgroup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scope directory standing in for the cgroup fs: the files are what the kernel would get written. */
function scope(version: 1 | 2): CpuCgroup {
  const base = join(dir, `v${version}`);
  const cg: CpuCgroup = { version, mode: version, base, slice: 'qemu.slice', scope: join(base, 'qemu.slice', '100.scope') };
  mkdirSync(cg.scope, { recursive: true });
  return cg;
}
const file = (cg: CpuCgroup, name: string) => readFileSync(join(cg.scope, name), 'utf8');

describe('cpu cgroup values (PVE::CGroup, systemd CPUQuota)', () => {
  it('clamps shares like clamp_cpu_shares', () => {
    expect(clampCpuShares(undefined, 2)).toBe(100);
    expect(clampCpuShares(undefined, 1)).toBe(1024);
    expect(clampCpuShares(262144, 2)).toBe(10000);
    expect(clampCpuShares(1, 1)).toBe(2);
    expect(clampCpuShares(1, 2)).toBe(1);
    expect(clampCpuShares(262144, 1)).toBe(262144);
  });

  it('turns cpulimit into a quota per 100 ms as CPUQuota=int(cpulimit*100)% does', () => {
    expect(cpuQuotaUs(undefined)).toBeUndefined();
    expect(cpuQuotaUs('0')).toBeUndefined();
    expect(cpuQuotaUs('1')).toBe(100_000);
    expect(cpuQuotaUs('0.5')).toBe(50_000);
    expect(cpuQuotaUs('1.337')).toBe(133_000);
    expect(cpuQuotaUs('128')).toBe(12_800_000);
  });

  it('gives the system root qemu-server slice and every other root one of its own', () => {
    expect(sliceFor('/var/lib/cvmctl')).toBe('qemu.slice');
    expect(sliceFor('/tmp/a')).toMatch(/^cvmctl-[0-9a-f]{12}\.slice$/);
    expect(sliceFor('/tmp/a')).not.toBe(sliceFor('/tmp/b'));
  });

  it('writes cpu.weight and cpu.max on cgroup v2', async () => {
    const cg = scope(2);
    await changeCpuShares(cg, 100, 300);
    await changeCpuQuota(cg, 100, 50_000);
    expect([file(cg, 'cpu.weight'), file(cg, 'cpu.max')]).toEqual(['300', '50000 100000']);
    await changeCpuShares(cg, 100, undefined);
    await changeCpuQuota(cg, 100, undefined);
    expect([file(cg, 'cpu.weight'), file(cg, 'cpu.max')]).toEqual(['100', 'max 100000']);
    await expect(changeCpuShares(cg, 100, 20000)).rejects.toThrow('cpu weight (shares) must be in range [1, 10000]');
  });

  it('writes cpu.shares and the CFS quota on cgroup v1', async () => {
    const cg = scope(1);
    await changeCpuShares(cg, 100, 2048);
    await changeCpuQuota(cg, 100, 150_000);
    expect([file(cg, 'cpu.shares'), file(cg, 'cpu.cfs_period_us'), file(cg, 'cpu.cfs_quota_us')]).toEqual(['2048', '100000', '150000']);
    await changeCpuShares(cg, 100, undefined);
    await changeCpuQuota(cg, 100, undefined);
    expect([file(cg, 'cpu.shares'), file(cg, 'cpu.cfs_quota_us')]).toEqual(['1024', '-1']);
  });

  it('refuses a VM without a cgroup, naming the missing directory', async () => {
    const cg = { ...scope(1), scope: join(dir, 'v1', 'qemu.slice', '101.scope') };
    await expect(changeCpuQuota(cg, 101, 1000)).rejects.toThrow(`VM 101 has no cgroup ('${cg.scope}' does not exist)`);
  });
});
