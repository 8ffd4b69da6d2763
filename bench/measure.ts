/**
 * @module bench/measure
 * `cvmctl measure` speed, issue 12 point 20: the SNP digest of a 2 MiB synthetic firmware +
 * 1 MiB kernel (kernel-hashes) + 3 vCPUs, computed in-process by `measureFiles` (file reads
 * included), next to (a) virtee/sev-snp-measure's own `calc_launch_digest` timed inside its
 * Python process on the same files (target: faster), and (b) Node's raw SHA-384 over the same
 * 3 MiB (target: within 1.5×). Medians of CPU time (this is a shared machine); the runs of all
 * three alternate so they see the same load. sev-snp-measure is taken from a checkout (SEV_SNP_MEASURE_DIR, default
 * /work/upstream/sev-snp-measure); without one, the 7 ms lower bound issue 12 recorded is the
 * reference and the line says so.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureFiles } from '../src/measure/index.js';
import { buildSyntheticOvmf, fillerBytes } from '../test/fixtures/measure/synthetic-ovmf.js';

const MIB = 1024 * 1024;
const TARGET_RAW_RATIO = 1.5;
/** Issue 12: sev-snp-measure took 7–13 ms in-process for this digest; the lower bound is the bar. */
const RECORDED_REFERENCE_MS = 7;
const ROUNDS = 31;
const VCPUS = 3;
const VCPU_SIG = 0xa00f11;
const APPEND = 'console=ttyS0';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * CPU milliseconds of one call (this process, all threads: libuv's file reads count too). The
 * machine is shared, so wall time mostly measures the other processes.
 */
async function timeOnce(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(t);
  return (used.user + used.system) / 1000;
}

function referenceCheckout(): string | undefined {
  const dir = process.env.SEV_SNP_MEASURE_DIR ?? '/work/upstream/sev-snp-measure';
  return existsSync(join(dir, 'sevsnpmeasure', 'guest.py')) ? dir : undefined;
}

/** sev-snp-measure's in-process median (ms) and digest, or undefined when it cannot run. */
function runReference(checkout: string, ovmfPath: string, kernelPath: string): { ms: number; digest: string } | string {
  const script = join(import.meta.dirname, 'sev-snp-measure-inprocess.py');
  const args = [script, checkout, ovmfPath, kernelPath, APPEND, String(VCPUS), `0x${VCPU_SIG.toString(16)}`, '5'];
  const r = spawnSync('python3', args, { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() as string;
  const [ms, digest] = r.stdout.trim().split(' ');
  return { ms: Number(ms), digest: digest as string };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cvmctl-bench-measure-'));
  try {
    const ovmfPath = join(dir, 'OVMF_SEV.fd');
    const kernelPath = join(dir, 'vmlinuz');
    writeFileSync(
      ovmfPath,
      buildSyntheticOvmf({
        size: 2 * MIB,
        seed: 0xbe7c4,
        resetEip: 0x80b004,
        hashTable: [0x810c00, 0x400],
        sections: [
          { gpa: 0x800000, size: 0x9000, type: 1 },
          { gpa: 0x80a000, size: 0x3000, type: 1 },
          { gpa: 0x80d000, size: 0x1000, type: 2 },
          { gpa: 0x80e000, size: 0x1000, type: 3 },
          { gpa: 0x80f000, size: 0x1000, type: 4 },
          { gpa: 0x810000, size: 0x1000, type: 0x10 },
          { gpa: 0x811000, size: 0xf000, type: 1 },
        ],
      }),
    );
    writeFileSync(kernelPath, fillerBytes(1 * MIB, 0x6b));
    const spec = { mode: 'snp' as const, ovmfPath, kernelPath, append: APPEND, vcpus: VCPUS, vcpuSig: VCPU_SIG, guestFeatures: 1 };
    const bytes = Buffer.concat([readFileSync(ovmfPath), readFileSync(kernelPath)]);

    const digest = (await measureFiles(spec)).toString('hex');
    // warm up both (JIT, file cache) before anything is timed
    for (let i = 0; i < 10; i++) {
      await measureFiles(spec);
      createHash('sha384').update(bytes).digest();
    }
    const checkout = referenceCheckout();
    const ours: number[] = [];
    const raw: number[] = [];
    const refs: number[] = [];
    let refNote = '';
    for (let i = 0; i < ROUNDS; i++) {
      ours.push(await timeOnce(() => measureFiles(spec)));
      raw.push(await timeOnce(() => createHash('sha384').update(bytes).digest()));
      // a Python process per round (5 timed calls each) keeps the three interleaved
      if (checkout && i % 6 === 0) {
        const ref = runReference(checkout, ovmfPath, kernelPath);
        if (typeof ref === 'string') refNote = ref;
        else {
          refs.push(ref.ms);
          if (ref.digest !== digest) refNote = `DIGEST DIFFERS: ${ref.digest}`;
        }
      }
    }
    const oursMs = median(ours);
    const rawRatio = oursMs / median(raw);
    console.log(`measure: snp, 2 MiB firmware + 1 MiB kernel, 3 vCPUs, in-process: ${oursMs.toFixed(2)} ms CPU (digest ${digest.slice(0, 16)}…, median of ${ROUNDS})`);
    console.log(
      `measure: raw SHA-384 over the same ${(bytes.length / MIB).toFixed(0)} MiB: ${median(raw).toFixed(2)} ms → ratio ${rawRatio.toFixed(2)}× (target ≤ ${TARGET_RAW_RATIO}×) ${rawRatio <= TARGET_RAW_RATIO ? 'OK' : 'MISSED'}`,
    );
    if (refs.length > 0) {
      const refMs = median(refs);
      console.log(
        `measure: sev-snp-measure calc_launch_digest in its Python process, same files: ${refMs.toFixed(2)} ms (${refNote || 'same digest'}) → cvmctl ${(refMs / oursMs).toFixed(1)}× faster (target > 1×) ${!refNote && oursMs < refMs ? 'OK' : 'MISSED'}`,
      );
    } else {
      console.log(
        `measure: sev-snp-measure ${checkout ? `failed (${refNote})` : 'checkout not found (set SEV_SNP_MEASURE_DIR)'}: compared with the ${RECORDED_REFERENCE_MS} ms lower bound issue 12 recorded instead → ${(RECORDED_REFERENCE_MS / oursMs).toFixed(1)}× (target > 1×) ${oursMs < RECORDED_REFERENCE_MS ? 'OK' : 'MISSED'}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
