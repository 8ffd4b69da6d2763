/**
 * Unbounded reads and non-regular targets through bin/cvmctl (issue 12, points 2 and 9): every
 * input file named on the command line must be a regular file within the limit of its kind;
 * /dev/zero, a FIFO or a symlink to a device is refused at once with one line and exit 1
 * (formerly cvmctl read /dev/zero forever). `host capabilities --write` refuses a symlink or
 * FIFO instead of replacing or writing through it. Needs `npm run build`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cvmctl');
const REPORT = join(import.meta.dirname, '..', 'fixtures', 'attest', 'report_milan.hex');
const OVMF = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const dir = mkdtempSync(join(tmpdir(), 'cvmctl-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const zeroLink = join(dir, 'zero');
symlinkSync('/dev/zero', zeroLink);

interface Result {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Run the CLI; a hang is killed after 20 s (and then fails the exit-code assertion). */
function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--root', join(dir, 'root')],
      { timeout: 20_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

const cases: Array<[string, string[], string]> = [
  [
    'attest show --report /dev/zero',
    ['attest', 'show', '--report', '/dev/zero'],
    "unable to read attestation report '/dev/zero' - it is a device, not a regular file",
  ],
  [
    'attest show --report FIFO',
    ['attest', 'show', '--report', fifo],
    `unable to read attestation report '${fifo}' - it is a FIFO, not a regular file`,
  ],
  [
    'attest verify --vcek /dev/zero',
    ['attest', 'verify', '--report', REPORT, '--vcek', '/dev/zero'],
    "unable to read VCEK '/dev/zero' - it is a device, not a regular file",
  ],
  [
    'attest verify --chain symlink to /dev/zero',
    ['attest', 'verify', '--report', REPORT, '--chain', zeroLink],
    `unable to read certificate chain '${zeroLink}' - it is a device, not a regular file`,
  ],
  [
    'measure --ovmf /dev/zero',
    ['measure', '--mode', 'snp', '--vcpus', '1', '--vcpu-type', 'EPYC-v4', '--ovmf', '/dev/zero'],
    "unable to read OVMF firmware '/dev/zero' - it is a device, not a regular file",
  ],
  [
    'measure --kernel /dev/zero',
    ['measure', '--mode', 'sev', '--ovmf', OVMF, '--kernel', '/dev/zero'],
    "unable to read kernel '/dev/zero' - it is a device, not a regular file",
  ],
  [
    'showcmd --file /dev/zero',
    ['showcmd', '--file', '/dev/zero', '--vmid', '100'],
    "unable to read config file '/dev/zero' - it is a device, not a regular file",
  ],
  [
    'showcmd --file FIFO',
    ['showcmd', '--file', fifo, '--vmid', '100'],
    `unable to read config file '${fifo}' - it is a FIFO, not a regular file`,
  ],
];

describe('inputs are bounded regular files', () => {
  it.each(cases)('%s is refused at once in one line', async (_name, args, message) => {
    const r = await cli(args);
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.code).toBe(1);
  });
});

describe('host capabilities --write', () => {
  it('refuses a symlink (to a device) or a FIFO as target and leaves it as it was', async () => {
    const r = await cli(['host', 'capabilities', '--write', zeroLink]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`unable to write '${zeroLink}' - it is a symbolic link, not a regular file`);
    expect(lstatSync(zeroLink).isSymbolicLink()).toBe(true);
    const f = await cli(['host', 'capabilities', '--write', fifo]);
    expect(f.code).toBe(1);
    expect(f.stderr.trim().split('\n').at(-1)).toBe(`unable to write '${fifo}' - it is a FIFO, not a regular file`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});
