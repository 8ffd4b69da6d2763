/**
 * @module host/local/devices
 * Host lookups config_to_command makes while it builds a command line, probed here at the edge
 * so the generator stays pure: the character devices serial/parallel paths are tested against
 * (`-c $path`), and the CPU flags `nested-virt` resolves from (read_cpuinfo's `flags`). Used by
 * the `local` prober and the built-in `pve` profile.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** How deep under /dev to look: `/dev/serial/by-id/<link>` is three levels down. */
const MAX_DEPTH = 3;
/** A bound on the walk, far above what a host has (a few hundred nodes). */
const MAX_ENTRIES = 20_000;

/** Character devices under `devRoot` (symlinks followed, as `-c` does), sorted. */
export async function probeCharDevices(devRoot = '/dev'): Promise<string[]> {
  const found: string[] = [];
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return;
      const path = join(dir, e.name);
      if (e.isCharacterDevice()) found.push(path);
      else if (e.isSymbolicLink()) {
        if (
          await stat(path).then(
            (s) => s.isCharacterDevice(),
            () => false,
          )
        )
          found.push(path);
      } else if (e.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1);
    }
  };
  await walk(devRoot, 1);
  return found.sort();
}

/** read_cpuinfo's `flags`: the first `flags : …` line's text after the colon and its spaces. */
export function cpuFlagsFromCpuinfo(text: string): string | undefined {
  const m = /^flags[ \t]*:[ \t]*(.*)$/m.exec(text);
  return m ? m[1] : undefined;
}

/** The host's CPU flags from /proc/cpuinfo; '' when it has none (arm64) or cannot be read, as read_cpuinfo. */
export async function probeCpuFlags(path = '/proc/cpuinfo'): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return cpuFlagsFromCpuinfo(text) ?? '';
}
