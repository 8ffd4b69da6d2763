/**
 * @module storage/convert
 * Copying image data between volumes the way qemu-server's `qemu_img_convert` does it:
 * `qemu-img convert -p -n -f <src fmt> -O <dst fmt> <src> <dst>` into an already allocated
 * target, with `transferred X of Y (P%)` progress lines as the task log shows them. Also
 * `file_size_info` for image files that come from outside (import-from): the format is
 * probed, and an image with a backing file is refused (it could make QEMU read any file).
 */

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';

const run = promisify(execFile);
const qemuImgBin = () => process.env.CVMCTL_QEMU_IMG || 'qemu-img';

/** PVE::Format::render_bytes (`precision` decimals, default 2). */
export function renderBytes(bytes: number, precision = 2): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(precision)} ${units[i]}`;
}

/**
 * PVE::Format::render_duration: whole seconds as `1w 2d 3h 4m 5s` (zero parts left out, `0s`
 * for nothing); `autoLimitAccuracy` drops minutes once there are weeks and seconds once there are days.
 */
export function renderDuration(seconds: number, autoLimitAccuracy = false): string {
  let rest = Math.round(seconds);
  if (!rest) return '0s';
  const parts: string[] = [];
  const step = (unit: string, length: number): boolean => {
    const v = Math.trunc(rest / length);
    if (v <= 0) return false;
    parts.push(`${v}${unit}`);
    rest -= v * length;
    return true;
  };
  const weeks = step('w', 7 * 24 * 3600);
  const days = step('d', 24 * 3600) || weeks;
  step('h', 3600);
  if (!autoLimitAccuracy || !weeks) step('m', 60);
  if (!autoLimitAccuracy || !days) step('s', 1);
  return parts.join(' ');
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

/** file_size_info(…, 'auto-detect', untrusted): format and virtual size of an image file. */
export async function untrustedImageInfo(path: string): Promise<ImageInfo> {
  let info: { format?: string; 'virtual-size'?: number; 'backing-filename'?: string };
  try {
    const { stdout } = await run(qemuImgBin(), ['info', '--output=json', path], { timeout: 30_000 });
    info = JSON.parse(stdout);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CvmError('STORAGE', `could not get file size of ${path} - ${(e.stderr || e.message).trim().split('\n')[0]}`, { cause: err });
  }
  if (info['backing-filename'])
    throw new CvmError('STORAGE', `${path}: image has a backing file '${info['backing-filename']}' - not allowed for an import`);
  if (!info.format || !info['virtual-size']) throw new CvmError('STORAGE', `could not get file size of ${path}`);
  if (!/^(raw|qcow2|vmdk|qed|vdi|vpc|vhdx|qcow|cloop)$/.test(info.format))
    throw new CvmError('STORAGE', `${path}: unsupported image format '${info.format}'`);
  return { format: info.format, virtualSize: info['virtual-size'] };
}

/** Copy `src` into the existing volume `dst`, reporting progress through `log`. */
export async function qemuImgConvert(args: {
  src: string;
  srcFormat: string;
  dst: string;
  dstFormat: string;
  size: number;
  log: (line: string) => void;
  /** Rate limit in KiB/s (`-r NK`, as qemu-server passes a move's bwlimit; 0: unlimited). */
  bwlimit?: number;
  /** Aborted: qemu-img is stopped and the copy fails with `interrupted by signal`. */
  signal?: AbortSignal;
}): Promise<void> {
  const rate = args.bwlimit !== undefined ? ['-r', `${args.bwlimit}K`] : [];
  const argv = ['convert', '-p', '-n', ...rate, '-f', args.srcFormat, '-O', args.dstFormat, args.src, args.dst];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(qemuImgBin(), argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(args.signal ? { signal: args.signal } : {}) });
    let stderr = '';
    let buffer = '';
    let lastPercent = -1;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 16_384) stderr += d;
    });
    child.stdout.on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split(/[\r\n]/);
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        const m = /\((\d+\.\d+)\/100%\)/.exec(part);
        if (!m) continue;
        const percent = Number(m[1]);
        // one line per whole percent, like qemu-server's task log
        if (Math.floor(percent) === lastPercent) continue;
        lastPercent = Math.floor(percent);
        args.log(`transferred ${renderBytes((args.size * percent) / 100)} of ${renderBytes(args.size)} (${percent.toFixed(2)}%)`);
      }
    });
    child.once('error', (err) => {
      if (args.signal?.aborted) return reject(new CvmError('STORAGE', 'interrupted by signal', { cause: err }));
      reject(new CvmError('STORAGE', `unable to run qemu-img - ${err.message}`, { cause: err }));
    });
    child.once('close', (code) => {
      if (code === 0) return resolve();
      if (args.signal?.aborted) return reject(new CvmError('STORAGE', 'interrupted by signal'));
      const text = stderr.trim().split('\n').filter(Boolean).join(' - ');
      reject(new CvmError('STORAGE', `copy failed: qemu-img convert exited with code ${code}${text ? `: ${text}` : ''}`));
    });
  });
}
