/**
 * @module test/integration/guest
 * The tiny Linux test guest (scripts/test-guest.sh: Debian's kernel, busybox, the Debian
 * qemu-guest-agent in an initramfs) for the integration tests that need a real guest OS: the
 * script is run once per test file (a no-op when its cache is current; it downloads and builds
 * otherwise), and when it cannot produce the guest (no network, no apt) its one-line reason is the
 * skip reason. `guestArgs` is the qemu-server `args:` line that boots it with ttyS0 written to a
 * file; `waitGuestReady` waits for the READY line its /init prints once the agent runs.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readIfExists, waitFor } from './helpers.js';

export const TEST_GUEST_DIR = process.env.CVMCTL_TEST_GUEST_DIR ?? '/var/cache/cvmctl-test-guest';

export interface TestGuest {
  kernel: string;
  initrd: string;
  /** kernel command line (console=ttyS0, memhp_default_state=online_movable ...) */
  cmdline: string;
}

/** Build (or find cached) the test guest; the reason why not when that is impossible here. */
export function prepareTestGuest(): { guest: TestGuest } | { reason: string } {
  const res = spawnSync('bash', [resolve('scripts/test-guest.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, CVMCTL_TEST_GUEST_DIR: TEST_GUEST_DIR },
  });
  const kernel = join(TEST_GUEST_DIR, 'vmlinuz');
  const initrd = join(TEST_GUEST_DIR, 'initrd.gz');
  if (res.status !== 0 || !existsSync(kernel) || !existsSync(initrd)) {
    const why = `${res.stderr ?? ''}`.trim().split('\n').pop() || `scripts/test-guest.sh exited with ${res.status ?? res.signal}`;
    return { reason: why };
  }
  return { guest: { kernel, initrd, cmdline: readFileSync(join(TEST_GUEST_DIR, 'cmdline'), 'utf8').trim() } };
}

/** qemu-server `args:` value booting the guest, its serial console (ttyS0) appended to `serialLog`. */
export function guestArgs(guest: TestGuest, serialLog: string): string {
  return `-kernel ${guest.kernel} -initrd ${guest.initrd} -append '${guest.cmdline}' -chardev file,id=gserial,path=${serialLog} -serial chardev:gserial`;
}

/** Wait for the guest's READY line (the agent runs from then on); the console text, or undefined on timeout. */
export async function waitGuestReady(serialLog: string, timeoutMs = 240_000): Promise<string | undefined> {
  return waitFor(
    () => {
      const text = readIfExists(serialLog);
      return /CVMCTL-TEST-GUEST READY/.test(text) ? text : undefined;
    },
    timeoutMs,
    500,
  );
}
