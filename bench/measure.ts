/**
 * @module bench/measure
 * `cvmctl measure` speed, issue 12 point 20: the SNP digest of a 2 MiB synthetic firmware +
 * 1 MiB kernel (kernel-hashes) + 3 vCPUs, computed in-process by `measureFiles` (file reads
 * included), next to (a) virtee/sev-snp-measure's own `calc_launch_digest` timed inside its
 * Python process on the same files (target: faster), and (b) Node's raw SHA-384 over the same
 * 3 MiB (target: within 1.5×). Medians of CPU time (this is a shared machine); each round runs
 * one call of each of the three, so they see the same load (bench/sev-snp-measure-ref.ts).
 * Without a sev-snp-measure checkout (SEV_SNP_MEASURE_DIR, default /work/upstream/sev-snp-measure)
 * the 7 ms lower bound issue 12 recorded is the reference and the line says so.
 *
 * A second, informational comparison uses a real firmware build, Debian's OVMF_CODE_4M.fd (not
 * SNP-capable, so only its page chain: `snp:ovmf-hash` against sev-snp-measure's
 * `calc_snp_ovmf_hash`). The synthetic image above is random bytes; a real build is half 0xFF
 * padding, whose repeated pages cvmctl hashes once.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureFiles } from '../src/measure/index.js';
import { buildSyntheticOvmf, fillerBytes } from '../test/fixtures/measure/synthetic-ovmf.js';
import { ReferenceProcess, referenceCheckout } from './sev-snp-measure-ref.js';

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

interface Interleaved {
  ours: number[];
  raw: number[];
  refs: number[];
  /** Why the reference is missing or wrong ('' when it ran and gave our digest). */
  refNote: string;
}

/**
 * `rounds` rounds of one call each: ours, the raw hash (if any), and sev-snp-measure (if there
 * is a checkout). A reference that gives another digest is still timed, and its line says MISSED.
 */
async function interleave(
  rounds: number,
  digest: string,
  ours: () => Promise<unknown>,
  raw: (() => unknown) | undefined,
  checkout: string | undefined,
  refArgs: string[],
): Promise<Interleaved> {
  const out: Interleaved = { ours: [], raw: [], refs: [], refNote: '' };
  const ref = checkout ? await ReferenceProcess.start(checkout, refArgs) : undefined;
  if (typeof ref === 'string') out.refNote = ref;
  else if (ref && ref.digest !== digest) out.refNote = `DIGEST DIFFERS: ${ref.digest}`;
  const timeRef = typeof ref === 'object' ? ref : undefined;
  try {
    if (timeRef) for (let i = 0; i < 3; i++) await timeRef.once(); // its warm-up
    for (let i = 0; i < rounds; i++) {
      out.ours.push(await timeOnce(ours));
      if (raw) out.raw.push(await timeOnce(raw));
      if (timeRef) out.refs.push(await timeRef.once());
    }
  } finally {
    if (typeof ref === 'object') ref.close();
  }
  return out;
}

/** Debian's 4 MiB OVMF build (package ovmf, which scripts/setup.sh installs). */
const REAL_OVMF = '/usr/share/OVMF/OVMF_CODE_4M.fd';

/** Informational: the firmware page chain of a real OVMF build, ours against sev-snp-measure's. */
async function realFirmware(checkout: string | undefined): Promise<void> {
  if (!existsSync(REAL_OVMF)) {
    console.log(`measure (info): ${REAL_OVMF} not found (Debian package ovmf): real-firmware comparison not run`);
    return;
  }
  const spec = { mode: 'snp:ovmf-hash' as const, ovmfPath: REAL_OVMF };
  const digest = (await measureFiles(spec)).toString('hex');
  for (let i = 0; i < 10; i++) await measureFiles(spec);
  const r = await interleave(15, digest, () => measureFiles(spec), undefined, checkout, ['--ovmf-hash', REAL_OVMF]);
  const oursMs = median(r.ours);
  const pages = Math.round(statSync(REAL_OVMF).size / 4096);
  const ref =
    r.refs.length > 0
      ? `sev-snp-measure calc_snp_ovmf_hash ${median(r.refs).toFixed(2)} ms (${r.refNote || 'same digest'}) → cvmctl ${(median(r.refs) / oursMs).toFixed(2)}× faster`
      : `sev-snp-measure ${checkout ? `failed (${r.refNote})` : 'checkout not found'}`;
  console.log(`measure (info): snp:ovmf-hash, Debian's OVMF_CODE_4M.fd (${pages} pages): ${oursMs.toFixed(2)} ms CPU; ${ref}`);
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
    const refArgs = [ovmfPath, kernelPath, APPEND, String(VCPUS), `0x${VCPU_SIG.toString(16)}`];
    const rawHash = () => createHash('sha384').update(bytes).digest();
    const { ours, raw, refs, refNote } = await interleave(ROUNDS, digest, () => measureFiles(spec), rawHash, checkout, refArgs);
    const oursMs = median(ours);
    const rawRatio = oursMs / median(raw);
    console.log(`measure: snp, 2 MiB firmware + 1 MiB kernel, 3 vCPUs, in-process: ${oursMs.toFixed(2)} ms CPU (digest ${digest.slice(0, 16)}…, median of ${ROUNDS})`);
    console.log(
      `measure: raw SHA-384 over the same ${(bytes.length / MIB).toFixed(0)} MiB: ${median(raw).toFixed(2)} ms → ratio ${rawRatio.toFixed(2)}× (target ≤ ${TARGET_RAW_RATIO}×) ${rawRatio <= TARGET_RAW_RATIO ? 'OK' : 'MISSED'}`,
    );
    if (refs.length > 0) {
      const refMs = median(refs);
      console.log(
        `measure: sev-snp-measure calc_launch_digest in its Python process, same files: ${refMs.toFixed(2)} ms (${refNote || 'same digest'}, median of ${refs.length}) → cvmctl ${(refMs / oursMs).toFixed(2)}× faster (target > 1×) ${!refNote && oursMs < refMs ? 'OK' : 'MISSED'}`,
      );
    } else {
      console.log(
        `measure: sev-snp-measure ${checkout ? `failed (${refNote})` : 'checkout not found (set SEV_SNP_MEASURE_DIR)'}: compared with the ${RECORDED_REFERENCE_MS} ms lower bound issue 12 recorded instead → ${(RECORDED_REFERENCE_MS / oursMs).toFixed(1)}× (target > 1×) ${oursMs < RECORDED_REFERENCE_MS ? 'OK' : 'MISSED'}`,
      );
    }
    await realFirmware(checkout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
