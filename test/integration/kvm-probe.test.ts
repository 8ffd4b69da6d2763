/**
 * Whether KVM can run a VM here (host/local/kvm-probe), checked against the truth: the probe's
 * answer with this host's real QEMU agrees with what starting a real default VM (`kvm` unset,
 * so KVM with the default CPU) does. With stand-in binaries: QEMU's failure text becomes one
 * line naming the missing CPU features, a binary that cannot run and one that hangs are
 * reported, the answer is kept per process (a second ask runs nothing) but a timed-out probe
 * is asked again.
 */
import { chmodSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeLocalHost } from '../../src/host/local/index.js';
import { kvmProbeCommand, probeKvm, probeReason, runKvmProbe } from '../../src/host/local/kvm-probe.js';
import { loadHostProfile } from '../../src/host/profiles/index.js';
import { cliSync, makeTestRoot, QEMU_BINARY, SKIP_REASON } from './helpers.js';

const t = makeTestRoot('cvmctl-kvm-probe-');
afterAll(() => t.cleanup());

/** A stand-in QEMU: a shell script that logs each run's arguments in `<path>.runs`. */
function fakeQemu(name: string, body: string): string {
  const path = join(t.root, name);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${path}.runs'\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const runsOf = (path: string) => (existsSync(`${path}.runs`) ? readFileSync(`${path}.runs`, 'utf8').split('\n').filter(Boolean).length : 0);

describe('probeReason', () => {
  it("puts QEMU's fatal line first and the CPU features its warnings name after it", () => {
    const stderr = [
      "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]",
      "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.80000001H:ECX.lahf_lm [bit 0]",
      "qemu-system-x86_64: Host doesn't support requested features",
      '',
    ].join('\n');
    expect(probeReason(stderr, 1)).toBe(
      "Host doesn't support requested features (CPUID.01H:ECX.pni [bit 0], CPUID.80000001H:ECX.lahf_lm [bit 0])",
    );
    expect(probeReason('/usr/bin/qemu-system-x86_64: Could not access KVM kernel module: Permission denied\n', 1)).toBe(
      'Could not access KVM kernel module: Permission denied',
    );
    expect(probeReason('', 1)).toBe('QEMU exited with code 1');
  });
});

describe('runKvmProbe with stand-in binaries', () => {
  it('a QEMU that fails names the reason; one that answers QMP and exits 0 is usable', async () => {
    const failing = fakeQemu(
      'qemu-fails',
      `echo "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]" >&2\necho "qemu-system-x86_64: Host doesn't support requested features" >&2\nexit 1`,
    );
    expect(await runKvmProbe({ binary: failing, machine: 'accel=kvm,type=pc', cpu: 'kvm64,enforce' })).toEqual({
      usable: false,
      cpu: 'kvm64,enforce',
      reason: "Host doesn't support requested features (CPUID.01H:ECX.pni [bit 0])",
    });
    const fine = fakeQemu('qemu-fine', `cat >/dev/null\necho '{"QMP": {}}'\necho '{"return": {}}'\nexit 0`);
    expect(await runKvmProbe({ binary: fine, machine: 'accel=kvm,type=pc', cpu: 'host' })).toEqual({ usable: true, cpu: 'host' });
  });

  it('a binary that cannot run and one that hangs are reported', async () => {
    const missing = await runKvmProbe({ binary: join(t.root, 'no-such-qemu'), machine: 'accel=kvm', cpu: 'host' });
    expect(missing.usable).toBe(false);
    expect(missing.reason).toMatch(/^cannot run .*no-such-qemu - spawn .* ENOENT$/);
    const hangs = fakeQemu('qemu-hangs', 'exec sleep 30');
    const slow = await runKvmProbe({ binary: hangs, machine: 'accel=kvm', cpu: 'host' }, 500);
    expect(slow).toEqual({ usable: false, cpu: 'host', reason: `the KVM probe (${hangs}) did not finish within 0.5 s` });
  });
});

describe('probeKvm', () => {
  it("probes with the default VM's machine and CPU, once per process and command", async () => {
    const facts = await loadHostProfile('pve-test', {});
    const binary = fakeQemu('qemu-counted', 'echo "qemu-system-x86_64: Host doesn\'t support requested features" >&2\nexit 1');
    const counted = { ...facts, paths: { ...facts.paths, kvmBinary: binary } };
    const cmd = await kvmProbeCommand(counted);
    expect(cmd.binary).toBe(binary);
    expect(cmd.machine).toMatch(/(^|,)type=pc\b/);
    expect(cmd.cpu).toMatch(/^kvm64,enforce/);
    const first = await probeKvm(counted);
    const second = await probeKvm(counted);
    expect(first).toEqual({ usable: false, cpu: cmd.cpu, reason: "Host doesn't support requested features" });
    expect(second).toEqual(first);
    expect(runsOf(binary)).toBe(1);
    // KVM asked for, the default VM's machine and CPU, paused, nothing else
    expect(readFileSync(`${binary}.runs`, 'utf8').trim()).toBe(
      `-machine ${cmd.machine} -accel kvm -cpu ${cmd.cpu} -m 16 -nodefaults -no-user-config -display none -S -qmp stdio`,
    );
  });
});

describe('probeKvm after a timeout', () => {
  it('does not keep an answer that says nothing about KVM: the next ask probes again', async () => {
    const facts = await loadHostProfile('pve-test', {});
    const binary = fakeQemu('qemu-slow', 'exec sleep 30');
    const slow = { ...facts, paths: { ...facts.paths, kvmBinary: binary } };
    expect((await probeKvm(slow, { timeoutMs: 300 })).reason).toMatch(/did not finish within 0\.3 s$/);
    expect((await probeKvm(slow, { timeoutMs: 300 })).reason).toMatch(/did not finish within 0\.3 s$/);
    expect(runsOf(binary)).toBe(2);
  });
});

describe('the probe agrees with a real VM start', () => {
  const device = (() => {
    try {
      openSync('/dev/kvm', 'r+');
      return true;
    } catch {
      return false;
    }
  })();
  if (!device) console.log('skipped: /dev/kvm does not open read-write here, so VMs run under TCG and there is nothing to probe');

  it.skipIf(!QEMU_BINARY || !device)(
    `usable exactly when a default VM starts under KVM (${QEMU_BINARY ? 'needs /dev/kvm' : SKIP_REASON})`,
    async () => {
      const facts = await probeLocalHost(t.root);
      expect(facts.kvmAvailable).toBe(true);
      const probe = await probeKvm(facts);
      expect(cliSync(t.root, 'create', '100', '--memory', '64', '--vga', 'none').code).toBe(0);
      const start = cliSync(t.root, 'start', '100');
      if (start.code === 0) expect(cliSync(t.root, 'stop', '100').code).toBe(0);
      expect(probe.usable, `probe: ${probe.reason ?? 'usable'}; start: ${start.stderr}`).toBe(start.code === 0);
      // and it fails for the reason the probe gave
      if (!probe.usable) expect(start.stderr).toContain(probe.reason?.replace(/ \(.*$/, ''));
    },
    60_000,
  );
});
