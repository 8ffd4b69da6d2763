/**
 * @module store/root
 * Where cvmctl keeps its state: `--root`, else `$CVMCTL_ROOT`, else `/var/lib/cvmctl`
 * when running as root and `~/.local/share/cvmctl` otherwise. Layout below the root:
 * `qemu-server/<vmid>.conf` (configs), `storage.cfg` (storages), `images/` (default `local`
 * dir storage), `run/` (qmp/pid/vnc sockets of running VMs), `lock/` (per-VM locks).
 */

import { join } from 'node:path';
import { CvmError } from '../errors.js';

export function resolveRoot(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  // an empty --root must not silently fall back to the system-wide root
  if (explicit === '') throw new CvmError('PARAM_INVALID', "root: invalid value '' - empty path (allowed: a directory path)");
  if (explicit) return explicit;
  if (env.CVMCTL_ROOT) return env.CVMCTL_ROOT;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/cvmctl';
  // node:os only when HOME is unset: every command resolves the root, few need the module
  return join(env.HOME || process.getBuiltinModule('node:os').homedir(), '.local', 'share', 'cvmctl');
}

export interface StateLayout {
  root: string;
  configDir: string;
  storageCfg: string;
  imagesDir: string;
  runDir: string;
  lockDir: string;
}

export function stateLayout(root: string): StateLayout {
  return {
    root,
    configDir: join(root, 'qemu-server'),
    storageCfg: join(root, 'storage.cfg'),
    imagesDir: join(root, 'images'),
    runDir: join(root, 'run'),
    lockDir: join(root, 'lock'),
  };
}
