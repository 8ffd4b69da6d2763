/**
 * @module run/preflight
 * What `start` checks before it takes a lock or creates anything, so that a user without the
 * rights to run a VM gets one clear line at once (instead of an EACCES from a lock file or an
 * ioctl error halfway through): write access to the state root, and CAP_NET_ADMIN when a NIC
 * needs a tap device on a bridge.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { CvmError } from '../errors.js';

/** CAP_NET_ADMIN (linux/capability.h): creating tap devices and plugging them into bridges. */
const CAP_NET_ADMIN = 12n;

function who(): string {
  const uid = process.getuid?.() ?? -1;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // a uid without a passwd entry keeps its number
  }
  return `user '${name}' (uid ${uid})`;
}

/** Whether this process has an effective capability (from /proc/self/status `CapEff`). */
export async function hasCapability(bit: bigint, statusPath = '/proc/self/status'): Promise<boolean> {
  const text = await readFile(statusPath, 'utf8').catch(() => '');
  const hex = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(text)?.[1];
  if (hex === undefined) return process.getuid?.() === 0;
  return ((BigInt(`0x${hex}`) >> bit) & 1n) === 1n;
}

/** The state root must be writable: locks, pid files and sockets live under it. */
export async function assertRootWritable(root: string): Promise<void> {
  try {
    await access(root, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // created on first use, by whoever may create it
    throw new CvmError(
      'PERMISSION_DENIED',
      `start: ${who()} cannot write the state root '${root}' - run cvmctl as root, or use a state root of your own (--root, CVMCTL_ROOT)`,
      { cause: err, details: { root } },
    );
  }
}

/** Tap devices need CAP_NET_ADMIN; say so before anything is set up. */
export async function assertCanCreateTaps(
  taps: readonly { key: string; ifname: string; bridge: string }[],
  statusPath?: string,
): Promise<void> {
  if (taps.length === 0 || (await hasCapability(CAP_NET_ADMIN, statusPath))) return;
  const t = taps[0] as { key: string; ifname: string; bridge: string };
  throw new CvmError(
    'PERMISSION_DENIED',
    `${t.key}: ${who()} cannot create tap device '${t.ifname}' on bridge '${t.bridge}' (needs root or CAP_NET_ADMIN) - run cvmctl start as root, or use a NIC without bridge`,
    { details: { key: t.key, bridge: t.bridge } },
  );
}
