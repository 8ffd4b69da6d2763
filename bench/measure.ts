/**
 * @module bench/measure
 * `cvmctl measure` speed: SNP digest of a 4 MiB synthetic firmware + 10 MiB kernel + 4 vCPUs
 * (kernel-hashes), compared with (a) virtee/sev-snp-measure on the same files, when the
 * Python tool is available (target ≥ 20× faster), and (b) Node's raw SHA-384 throughput over
 * the same 14 MiB (target: within 2×). Prints both ratios.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureFiles } from '../src/measure/index.js';
import { buildSyntheticOvmf, fillerBytes } from '../test/fixtures/measure/synthetic-ovmf.js';

const MIB = 1024 * 1024;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

function findReference(): string[] | null {
  const explicit = process.env.SEV_SNP_MEASURE;
  if (explicit) return explicit.endsWith('.py') ? ['python3', explicit] : [explicit];
  const upstream = '/work/upstream/sev-snp-measure/sev-snp-measure.py';
  if (existsSync(upstream)) return ['python3', upstream];
  const which = spawnSync('sh', ['-c', 'command -v sev-snp-measure'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? [which.stdout.trim()] : null;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cvmctl-bench-measure-'));
  try {
    const ovmfPath = join(dir, 'OVMF_SEV_4M.fd');
    const kernelPath = join(dir, 'vmlinuz');
    writeFileSync(
      ovmfPath,
      buildSyntheticOvmf({
        size: 4 * MIB,
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
    writeFileSync(kernelPath, fillerBytes(10 * MIB, 0x6b));
    const spec = { mode: 'snp' as const, ovmfPath, kernelPath, append: 'console=ttyS0', vcpus: 4, vcpuSig: 0xa00f11, guestFeatures: 1 };

    const digest = (await measureFiles(spec)).toString('hex');
    const ours = await timeIt(9, () => measureFiles(spec));

    const bytes = Buffer.concat([readFileSync(ovmfPath), readFileSync(kernelPath)]);
    const raw = await timeIt(9, () => createHash('sha384').update(bytes).digest());
    const rawRatio = ours / raw;
    console.log(`measure: snp, 4 MiB firmware + 10 MiB kernel, 4 vCPUs: ${ours.toFixed(1)} ms (digest ${digest.slice(0, 16)}…)`);
    console.log(`measure: raw SHA-384 over the same ${(bytes.length / MIB).toFixed(0)} MiB: ${raw.toFixed(1)} ms → ratio ${rawRatio.toFixed(2)}× (target ≤ 2×) ${rawRatio <= 2 ? 'OK' : 'MISSED'}`);

    const ref = findReference();
    if (!ref) {
      console.log('measure: sev-snp-measure not found (set SEV_SNP_MEASURE): reference comparison skipped');
      return;
    }
    const args = [...ref.slice(1), '--mode', 'snp', '--vcpus', '4', '--vcpu-type', 'EPYC-Milan', '--ovmf', ovmfPath, '--kernel', kernelPath, '--append', 'console=ttyS0'];
    let refDigest = '';
    const refTime = await timeIt(3, () => {
      const r = spawnSync(ref[0]!, args, { encoding: 'utf8' });
      refDigest = r.stdout.trim();
    });
    const refRatio = refTime / ours;
    console.log(
      `measure: sev-snp-measure on the same files: ${refTime.toFixed(0)} ms (${refDigest === digest ? 'same digest' : `DIGEST DIFFERS: ${refDigest}`}) → cvmctl is ${refRatio.toFixed(0)}× faster (target ≥ 20×) ${refRatio >= 20 ? 'OK' : 'MISSED'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
