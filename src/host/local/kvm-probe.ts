/**
 * @module host/local/kvm-probe
 * Whether KVM can really run a VM here, beyond `/dev/kvm` opening read-write (which is all
 * `kvmAvailable`, qemu-server's kvm_version check, knows): a nested guest can offer the device
 * and create VMs, yet its virtual CPU lacks features every default VM asks for (the `-cpu
 * kvm64,enforce,…` qemu-server gives a VM without `cpu:`), so each start fails. The probe starts
 * the host's QEMU with exactly the default VM's `-machine` and `-cpu` (from the one
 * config→command generator, for a config with no options), paused (`-S`), no devices, and quits
 * it over QMP on stdin: it succeeds when a default VM's vCPU can be created, else the reason is
 * QEMU's own error text. It takes about 0.1 s; the result is kept per process (QEMU binary,
 * machine, CPU), so a server runs it once, on the first request that asks.
 */

import { spawn } from 'node:child_process';
import type { HostFacts } from '../facts.js';

export interface KvmProbe {
  /** A default VM's vCPU can be created under KVM. */
  usable: boolean;
  /** Why not (QEMU's error text, one line). */
  reason?: string;
  /** The `-cpu` value probed (the default VM's). */
  cpu: string;
}

/** What the probe runs: the binary and the default VM's `-machine` / `-cpu`, from the generator. */
export async function kvmProbeCommand(facts: HostFacts): Promise<{ binary: string; machine: string; cpu: string }> {
  const [{ parseVmConfig }, { configToCommand }] = await Promise.all([
    import('../../config/file/parse.js'),
    import('../../qemu/cfg2cmd/index.js'),
  ]);
  const { argv } = configToCommand(parseVmConfig('/etc/pve/qemu-server/100.conf', '', { strict: false }), { ...facts, kvmAvailable: true });
  const after = (flag: string) => {
    const at = argv.indexOf(flag);
    return at < 0 ? undefined : argv[at + 1];
  };
  return { binary: argv[0] as string, machine: after('-machine') ?? 'accel=kvm', cpu: after('-cpu') ?? 'host' };
}

/**
 * QEMU's stderr as one line: prefixes (`qemu-system-x86_64: `) dropped, the fatal lines first,
 * the unsupported CPU features its warnings name appended to them.
 */
export function probeReason(stderr: string, code: number | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^\S*qemu-system-[\w-]+: /, '').trim())
    .filter(Boolean);
  const features = lines.map((l) => /^warning: host doesn't support requested feature: (.+)$/i.exec(l)?.[1]).filter((f) => f !== undefined);
  const fatal = lines.filter((l) => !l.startsWith('warning: '));
  if (fatal.length === 0) return lines.join('; ') || `QEMU exited with code ${code}`;
  const head = fatal.join('; ');
  return features.length > 0 ? `${head} (${features.join(', ')})` : head;
}

/** Run the probe once (no cache). */
export async function runKvmProbe(cmd: { binary: string; machine: string; cpu: string }, timeoutMs = 20_000): Promise<KvmProbe> {
  const accel = /(^|,)accel=/.test(cmd.machine) ? [] : ['-accel', 'kvm'];
  const args = [
    '-machine',
    cmd.machine,
    ...accel,
    '-cpu',
    cmd.cpu,
    '-m',
    '16',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-S',
    '-qmp',
    'stdio',
  ];
  return new Promise<KvmProbe>((resolve) => {
    const child = spawn(cmd.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const slow: KvmProbe = {
        usable: false,
        cpu: cmd.cpu,
        reason: `the KVM probe (${cmd.binary}) did not finish within ${timeoutMs / 1000} s`,
      };
      timedOut.add(slow);
      resolve(slow);
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // QEMU that failed to start closes it unread
    // read by QEMU only once the machine (and so the vCPU) is up
    child.stdin.end('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n');
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ usable: false, cpu: cmd.cpu, reason: `cannot run ${cmd.binary} - ${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && stdout.includes('"QMP"')) resolve({ usable: true, cpu: cmd.cpu });
      else resolve({ usable: false, cpu: cmd.cpu, reason: probeReason(stderr, code) });
    });
  });
}

const cache = new Map<string, Promise<KvmProbe>>();
/** Answers that say nothing about KVM (a loaded machine): not kept. */
const timedOut = new WeakSet<KvmProbe>();

/** The probe for these facts, run at most once per process and command (a timed-out probe is tried again). */
export async function probeKvm(facts: HostFacts, opts: { timeoutMs?: number } = {}): Promise<KvmProbe> {
  let cmd: Awaited<ReturnType<typeof kvmProbeCommand>>;
  try {
    cmd = await kvmProbeCommand(facts);
  } catch (err) {
    return { usable: false, cpu: '', reason: `no default VM command to probe with - ${(err as Error).message}` };
  }
  const key = `${cmd.binary}\0${cmd.machine}\0${cmd.cpu}`;
  let probe = cache.get(key);
  if (!probe) {
    probe = runKvmProbe(cmd, opts.timeoutMs);
    cache.set(key, probe);
    probe.then((p) => {
      if (timedOut.has(p)) cache.delete(key);
    });
  }
  return probe;
}
