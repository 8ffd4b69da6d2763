/**
 * @module bench/cfg2cmd
 * Generator throughput and CLI start-up: configs per second through `configToCommand`
 * (parse not included) for a minimal VM and an SEV-SNP VM with a disk and a NIC, rendered
 * with `renderCommand`; and the cold wall time of `bin/cvmctl showcmd --file … --host pve-test`
 * (median of several runs, next to a bare `node -e 0` for the machine's baseline).
 * Targets: ≥ 20,000 configs/s on one core (judged on CPU time), ≤ 150 ms cold (wall).
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseVmConfig } from '../src/config/file/index.js';
import { AMD_TURIN_9005, pveTestProfile } from '../src/host/profiles/pve-test.js';
import { renderCommand } from '../src/qemu/args.js';
import { configToCommand } from '../src/qemu/cfg2cmd/index.js';

const MINIMAL = 'memory: 512\nsmbios1: uuid=6cf17dc3-8341-4ecc-aebd-7503f2583fb3\n';
const SNP = [
  'amd-sev: type=snp',
  'bios: ovmf',
  'cores: 4',
  'cpu: EPYC-Genoa',
  'machine: q35',
  'memory: 8192',
  'name: snp-guest',
  'net0: virtio=BC:24:11:00:00:01,bridge=vmbr0',
  'ostype: l26',
  'scsi0: local:8006/vm-8006-disk-0.qcow2,discard=on,iothread=1,size=32G',
  'scsihw: virtio-scsi-single',
  'smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465',
  '',
].join('\n');

const TARGET_PER_SEC = 20_000;
const TARGET_COLD_MS = 150;
const BATCHES = 7;
const BATCH = 5_000;

const fmtRate = (v: number) => Math.round(v).toLocaleString('en-US').padStart(8);
const verdict = (ok: boolean) => (ok ? 'OK' : 'OVER');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Configs per second through configToCommand + renderCommand, median of several batches.
 * The machine is shared, so wall time understates what one core does; CPU time does not
 * (it is what the target means by "on one core"), so the verdict uses it and wall is shown too.
 */
function throughput(label: string, text: string, sevCaps: boolean): void {
  const config = parseVmConfig('/bench/qemu-server/8006.conf', text, {
    strict: true,
  });
  const host = pveTestProfile();
  if (sevCaps) {
    host.hwCapabilities = structuredClone(AMD_TURIN_9005);
  }
  for (let i = 0; i < 3000; i++) renderCommand(configToCommand(config, host).argv);
  const wallRates: number[] = [];
  const cpuRates: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) renderCommand(configToCommand(config, host).argv);
    wallRates.push(BATCH / ((performance.now() - t0) / 1000));
    const cpu = process.cpuUsage(cpu0);
    cpuRates.push(BATCH / ((cpu.user + cpu.system) / 1e6));
  }
  const perCpuSec = median(cpuRates);
  console.log(
    `cfg2cmd ${label.padEnd(8)} ${fmtRate(perCpuSec)} configs per CPU-second   target >= ${TARGET_PER_SEC.toLocaleString('en-US')}  ${verdict(perCpuSec >= TARGET_PER_SEC)}   (wall: ${fmtRate(median(wallRates)).trim()}/s, median of ${BATCHES} x ${BATCH})`,
  );
}

function wall(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function run(): Promise<void> {
  console.log('== cfg2cmd (configToCommand + renderCommand, parse not included)');
  throughput('minimal', MINIMAL, false);
  throughput('sev-snp', SNP, true);
  const dir = mkdtempSync(join(tmpdir(), 'cvm-bench-'));
  try {
    const file = join(dir, '8006.conf');
    writeFileSync(file, SNP.replace('amd-sev: type=snp\n', ''));
    const bin = join(import.meta.dirname, '..', 'bin', 'cvmctl');
    const runs = 9;
    const cold = wall(process.execPath, [bin, 'showcmd', '--file', file, '--host', 'pve-test'], runs);
    const baseline = wall(process.execPath, ['-e', '0'], runs);
    console.log(
      `cold \`cvmctl showcmd --file … --host pve-test\` ${cold.toFixed(0).padStart(5)} ms   target <= ${TARGET_COLD_MS} ms  ${verdict(cold <= TARGET_COLD_MS)}   (median of ${runs}; bare 'node -e 0' here: ${baseline.toFixed(0)} ms)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
