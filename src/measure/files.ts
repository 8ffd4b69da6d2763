/**
 * @module measure/files
 * The one I/O edge of the measurement code: reads the firmware image(s) into memory (regular
 * files of at most 64 MiB) and hashes kernel and initrd (at most 2 GiB) in a single streaming
 * SHA-256 pass each (they can be hundreds
 * of MiB; only their digests enter the table), then calls the pure `calcLaunchDigest`.
 */

import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { CvmError } from '../errors.js';
import { READ_LIMITS, readRegularFile, streamRegularFile, withRegularFile } from '../util/read-file.js';
import { calcLaunchDigest, type MeasureInput, type MeasureMode } from './digest.js';
import { cmdlineHash, type SevHashes } from './sev-hashes.js';
import type { VmmType } from './vmsa.js';

export interface MeasureFileInput {
  mode: MeasureMode;
  ovmfPath: string;
  vcpus?: number;
  vcpuSig?: number;
  vmmType?: VmmType;
  kernelPath?: string | null;
  initrdPath?: string | null;
  append?: string | null;
  guestFeatures?: bigint | number;
  snpOvmfHash?: string | null;
  svsmPath?: string | null;
  varsSize?: number;
  varsPath?: string | null;
  onVmsa?: (index: number, page: Buffer) => void;
}

function ioError(what: string, path: string, err: unknown): CvmError {
  const reason = (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));
  return new CvmError('IO', `cannot read ${what} '${path}': ${reason}`, { cause: err, details: { path } });
}

/** A firmware image: a regular file of at most 64 MiB, read whole. */
async function readWhole(what: string, path: string): Promise<Buffer> {
  try {
    return await readRegularFile(path, { what, maxBytes: READ_LIMITS.firmware });
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw ioError(what, path, err);
  }
}

/** SHA-256 of a kernel/initrd in one streaming pass: a regular file (or /dev/null) of at most 2 GiB. */
export async function sha256File(what: string, path: string): Promise<Buffer> {
  const hash = createHash('sha256');
  try {
    await streamRegularFile(path, { what, maxBytes: READ_LIMITS.kernel }, (chunk) => hash.update(chunk));
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw ioError(what, path, err);
  }
  return hash.digest();
}

/** Kernel-hashes digests: kernel whole file, initrd (empty when absent), cmdline + NUL. */
export async function sevHashesFromFiles(
  kernel: string,
  initrd: string | null | undefined,
  append: string | null | undefined,
): Promise<SevHashes> {
  const [kernelHash, initrdHash] = await Promise.all([
    sha256File('kernel', kernel),
    initrd ? sha256File('initrd', initrd) : Promise.resolve(createHash('sha256').digest()),
  ]);
  return { kernel: kernelHash, initrd: initrdHash, cmdline: cmdlineHash(append) };
}

/**
 * Read every input named in `spec` and return the launch digest. The kernel and initrd are
 * hashed first, so the firmware can be read into a reused buffer and measured at once (see
 * withRegularFile): fresh memory for a multi-MiB image cost more than reading it.
 */
export async function measureFiles(spec: MeasureFileInput): Promise<Buffer> {
  const input: Omit<MeasureInput, 'ovmf'> = {
    mode: spec.mode,
    vcpus: spec.vcpus,
    vcpuSig: spec.vcpuSig,
    vmmType: spec.vmmType,
    guestFeatures: spec.guestFeatures,
    snpOvmfHash: spec.snpOvmfHash ?? null,
    kernelHashes: null,
    onVmsa: spec.onVmsa,
  };
  if (spec.kernelPath && spec.mode !== 'snp:ovmf-hash') {
    input.kernelHashes = await sevHashesFromFiles(spec.kernelPath, spec.initrdPath, spec.append);
  }
  if (spec.mode === 'snp:svsm') {
    if (spec.svsmPath) input.svsm = await readWhole('SVSM image', spec.svsmPath);
    if (spec.varsPath) {
      try {
        input.varsSize = (await stat(spec.varsPath)).size;
      } catch (err) {
        throw ioError('OVMF vars file', spec.varsPath, err);
      }
    } else input.varsSize = spec.varsSize;
  }
  const what = 'OVMF firmware';
  try {
    // calcLaunchDigest keeps nothing of the image: the digest is a new buffer
    return withRegularFile(spec.ovmfPath, { what, maxBytes: READ_LIMITS.firmware }, (ovmf) => calcLaunchDigest({ ...input, ovmf }));
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw ioError(what, spec.ovmfPath, err);
  }
}
