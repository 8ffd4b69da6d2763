/**
 * @module run/hotplug/memory
 * qemu_memory_hotplug for `memory` with `hotplug: …memory…`: growing adds the DIMMs a start
 * with the new size would have (`mem-dimmN` memory backend + `pc-dimm`, sizes and NUMA nodes
 * from the generator's command line), one at a time, recording the reached size after each;
 * shrinking removes DIMMs from the top, each given the guest's time (qemu-server: up to 6
 * tries 3 s apart). Limits and texts are qemu-server's. Hugepage-backed DIMMs stay pending.
 */

import { CvmError } from '../../errors.js';
import type { ConfigSection } from '../../config/types.js';
import { sleep } from '../wait.js';
import { deviceArg, objectArg } from './argv-parts.js';
import type { PlugEnv } from './plug.js';
import { deviceAdd, deviceDel } from './qmp-devices.js';

/** Memory a VM always has with memory hotplug (MiB), per socket with 1 GiB hugepages. */
const STATIC_MEMORY_MIB = 1024;

/** `memory: 2048` or `memory: current=2048` → 2048 (default 512). */
export function currentMemoryMiB(value: string | undefined): number {
  const m = /^(?:current=)?(\d+)/.exec(value ?? '');
  return m ? Number(m[1]) : 512;
}

/** print_memory with a new current size, keeping the value's form. */
function withCurrent(value: string | undefined, mib: number): string {
  if (value && /(^|,)current=\d+/.test(value)) return value.replace(/(^|,)current=\d+/, `$1current=${mib}`);
  return String(mib);
}

interface MemoryDevice {
  data: { id?: string; size: number; node?: number };
}

async function dimms(env: PlugEnv): Promise<Map<string, number>> {
  const list = await env.qmp.execute<MemoryDevice[]>('query-memory-devices');
  const out = new Map<string, number>();
  for (const d of list) if (d.data.id && /^dimm\d+$/.test(d.data.id)) out.set(d.data.id, d.data.size);
  return out;
}

function sizeBytes(text: string): number {
  const m = /^(\d+)([KMGT]?)$/.exec(text);
  if (!m) throw new CvmError('INTERNAL', `unexpected memory backend size '${text}'`);
  const shift = { '': 0, K: 10, M: 20, G: 30, T: 40 }[m[2] as 'K'];
  return Number(m[1]) * 2 ** shift;
}

/**
 * Change the running VM's memory to `value`; `argvFor` gives the command line with the new
 * value. `setMemory` records each reached size (the config's `memory`).
 */
export async function hotplugMemory(
  env: PlugEnv,
  conf: ConfigSection,
  value: string,
  maxMemMiB: number,
  argvFor: () => Promise<readonly string[]>,
  setMemory: (memory: string) => void,
): Promise<void> {
  const oldMib = currentMemoryMiB(conf.memory);
  const newMib = currentMemoryMiB(value);
  if (newMib === oldMib) return;
  const staticMib = conf.hugepages === '1024' ? STATIC_MEMORY_MIB * (Number(conf.sockets) || 1) : STATIC_MEMORY_MIB;
  if (newMib < staticMib) throw new CvmError('PARAM_INVALID', `memory can't be lower than ${staticMib} MB`);
  if (newMib > maxMemMiB) throw new CvmError('PARAM_INVALID', `you cannot add more memory than max mem ${maxMemMiB} MB!`);
  if (conf.hugepages) throw new CvmError('HOST_UNSUPPORTED', 'hugepage-backed memory hotplug is not supported by cvmctl');
  const present = await dimms(env);
  if (newMib > oldMib) {
    const argv = await argvFor();
    let reached = staticMib + [...present.values()].reduce((a, b) => a + b / 2 ** 20, 0);
    for (let i = 0; ; i++) {
      const name = `dimm${i}`;
      const device = deviceArg(argv, name);
      if (!device) break;
      if (present.has(name)) continue;
      const obj = objectArg(argv, `mem-${name}`) ?? fail(`can't hotplug device '${name}'`);
      const bytes = sizeBytes(String(obj.size));
      await env.qmp.execute('object-add', { 'qom-type': 'memory-backend-ram', id: `mem-${name}`, size: bytes });
      try {
        await deviceAdd(env.qmp, device);
      } catch (err) {
        await env.qmp.execute('object-del', { id: `mem-${name}` }).catch(() => undefined);
        throw err;
      }
      reached += bytes / 2 ** 20;
      setMemory(withCurrent(value, reached));
    }
    return;
  }
  let current = oldMib;
  const byIdDesc = [...present.keys()].sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  for (const name of byIdDesc) {
    if (current <= newMib) break;
    for (let retry = 0; ; retry++) {
      await deviceDel(env.qmp, name);
      await sleep((env.pollMs ?? 1000) * 3);
      if (!(await dimms(env)).has(name)) break;
      if (retry > 5) throw new CvmError('QMP_ERROR', `${name}: error unplug memory module`);
    }
    current -= (present.get(name) as number) / 2 ** 20;
    setMemory(withCurrent(value, current));
    await env.qmp.execute('object-del', { id: `mem-${name}` }).catch(() => undefined);
  }
}

const fail = (message: string): never => {
  throw new CvmError('QMP_ERROR', message);
};
