/**
 * @module bench/cfg2cmd
 * Generator throughput and CLI start-up, each measured next to the code the targets were set
 * against (bench/baseline.ts: main when issue 12 was filed), in the same run:
 *
 * - configs per CPU-second through `configToCommand` + `renderCommand` (parse not included) for a
 *   minimal VM, an SEV-SNP VM with a disk and a NIC, and a big VM (11 disks on 8 storages, 6 NICs,
 *   5 hostpci, numa, efidisk, TPM, q35). Targets: ≥ 20,000 configs/s on one core; and, from issue
 *   12, ≥ 25× qemu-server's Perl on the big config, where the reviewers measured the baseline at
 *   16.9× (small configs 30–38×): so current ≥ 25/16.9 = 1.48× the baseline's rate.
 * - the cold wall time of `cvmctl showcmd --file … --host pve-test` (median of many runs,
 *   alternating with the baseline CLI and next to a bare `node -e 0`). Targets: ≤ 150 ms, and
 *   ≥ 5× qemu-server's CLI where the baseline measured 3.7–4.3×: the baseline's time ≥ 1.25× ours
 *   (5/4, the middle of that range).
 *
 * Batches of the baseline and the current code alternate, so both see the same load.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BASELINE_COMMIT, baselineCli, baselineDir } from './baseline.js';
import { BIG, loadSubject, MINIMAL, SNP, type Subject } from './cfg2cmd-subject.js';

const TARGET_PER_SEC = 20_000;
const TARGET_COLD_MS = 150;
/** Issue 12: big config 16.9× Perl measured on the baseline, ≥ 25× wanted. */
const TARGET_BIG_SPEEDUP = 25 / 16.9;
/** Issue 12: cold showcmd 3.7–4.3× qemu-server's CLI on the baseline, ≥ 5× wanted. */
const TARGET_COLD_SPEEDUP = 5 / 4;
const BATCHES = 9;

const fmtRate = (v: number) => Math.round(v).toLocaleString('en-US').padStart(8);
const verdict = (ok: boolean) => (ok ? 'OK' : 'OVER');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Configs per CPU-second of one batch (CPU time: what "on one core" means on a shared machine). */
function batchRate(run: () => void, batch: number): number {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < batch; i++) run();
  const cpu = process.cpuUsage(cpu0);
  return batch / ((cpu.user + cpu.system) / 1e6);
}

function throughput(label: string, text: string, sevCaps: boolean, batch: number, subject: Subject, base: Subject | undefined): void {
  const ours = subject.prepare(text, sevCaps);
  const theirs = base?.prepare(text, sevCaps);
  for (let i = 0; i < 2000; i++) {
    ours();
    theirs?.();
  }
  const rates: number[] = [];
  const baseRates: number[] = [];
  // alternate which goes first, so neither always runs right after the other's garbage
  for (let b = 0; b < BATCHES; b++) {
    if (theirs && b % 2 === 1) baseRates.push(batchRate(theirs, batch));
    rates.push(batchRate(ours, batch));
    if (theirs && b % 2 === 0) baseRates.push(batchRate(theirs, batch));
  }
  const rate = median(rates);
  let line = `cfg2cmd ${label.padEnd(8)} ${fmtRate(rate)} configs per CPU-second`;
  if (label !== 'big') line += `   target >= ${TARGET_PER_SEC.toLocaleString('en-US')}  ${verdict(rate >= TARGET_PER_SEC)}`;
  if (theirs) {
    const speedup = rate / median(baseRates);
    line += `;  ${speedup.toFixed(2)}x baseline (${fmtRate(median(baseRates)).trim()}/s)`;
    if (label === 'big') {
      line += ` = ${(16.9 * speedup).toFixed(1)}x Perl   target >= ${TARGET_BIG_SPEEDUP.toFixed(2)}x (25x Perl)  ${verdict(speedup >= TARGET_BIG_SPEEDUP)}`;
    }
  }
  console.log(`${line}   (median of ${BATCHES} x ${batch})`);
}

function wallOnce(cmd: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  return performance.now() - t0;
}

function coldStart(file: string, baseCli: string | undefined): void {
  const bin = join(import.meta.dirname, '..', 'bin', 'cvmctl');
  const args = ['showcmd', '--file', file, '--host', 'pve-test'];
  const runs = 15;
  const ours: number[] = [];
  const theirs: number[] = [];
  const bare: number[] = [];
  wallOnce(process.execPath, [bin, ...args]);
  for (let i = 0; i < runs; i++) {
    ours.push(wallOnce(process.execPath, [bin, ...args]));
    if (baseCli) theirs.push(wallOnce(process.execPath, [baseCli, ...args]));
    bare.push(wallOnce(process.execPath, ['-e', '0']));
  }
  const cold = median(ours);
  let line = `cold \`cvmctl showcmd --file … --host pve-test\` ${cold.toFixed(0).padStart(5)} ms   target <= ${TARGET_COLD_MS} ms  ${verdict(cold <= TARGET_COLD_MS)}`;
  if (baseCli) {
    const speedup = median(theirs) / cold;
    line += `;  baseline ${median(theirs).toFixed(0)} ms: ${speedup.toFixed(2)}x = ${(3.7 * speedup).toFixed(1)}-${(4.3 * speedup).toFixed(1)}x qemu-server   target >= ${TARGET_COLD_SPEEDUP.toFixed(2)}x (5x)  ${verdict(speedup >= TARGET_COLD_SPEEDUP)}`;
  }
  console.log(`${line}   (median of ${runs}; bare 'node -e 0' here: ${median(bare).toFixed(0)} ms)`);
}

export async function run(): Promise<void> {
  const dir = baselineDir();
  const subject = await loadSubject(join(import.meta.dirname, '..'));
  const base = dir ? await loadSubject(dir) : undefined;
  console.log(
    `== cfg2cmd (configToCommand + renderCommand, parse not included); baseline: ${dir ? `main at ${BASELINE_COMMIT}` : `unavailable (no commit ${BASELINE_COMMIT} in this checkout)`}`,
  );
  throughput('minimal', MINIMAL, false, 5_000, subject, base);
  throughput('sev-snp', SNP, true, 5_000, subject, base);
  throughput('big', BIG, false, 500, subject, base);
  const tmp = mkdtempSync(join(tmpdir(), 'cvm-bench-'));
  try {
    const file = join(tmp, '8006.conf');
    writeFileSync(file, SNP.replace('amd-sev: type=snp\n', ''));
    coldStart(file, dir ? await baselineCli(dir) : undefined);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
