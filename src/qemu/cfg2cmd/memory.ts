/**
 * @module qemu/cfg2cmd/memory
 * Memory arguments (PVE::QemuServer::Memory::config): `-m` static or hotplug form, NUMA
 * nodes (custom `numaN` or split per socket), hugepage-backed memory objects, the DIMMs for
 * memory hotplug and the virtiofs memfd backend. Host facts replace the harness mocks
 * (phys address bits, hugepage support, host NUMA nodes assumed present).
 */

import { CvmError } from '../../errors.js';
import type { Cfg2CmdContext } from './context.js';
import { perlNumber, perlTrue } from './props.js';
import { cpuFormat, memoryFormat, numaFormat } from '../../config/options/cpu-memory.js';
import { readPropertyString } from '../../schema/reader.js';

const MAX_NUMA = 8;
const STATIC_MEM = 1024;

const die = (msg: string): never => {
  throw new CvmError('GENERATE', msg);
};

/** get_current_memory: `memory` is a property string with default key `current` (default 512). */
export function currentMemory(value: string | undefined): number {
  if (value === undefined) return 512;
  const current = readPropertyString(memoryFormat, value).current;
  return current === undefined ? 512 : Number(current);
}

function parseNumberSets(set: string): [number, number | undefined][] {
  return set.split(';').map((part) => {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) return die(`invalid range: ${part}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? undefined : Number(m[2]);
    if (end !== undefined && end < start) die(`invalid range: ${part} (${end} < ${start})`);
    return [start, end];
  });
}

function maxMem(ctx: Cfg2CmdContext): number {
  const cpu = ctx.conf.cpu ? readPropertyString(cpuFormat, ctx.conf.cpu) : {};
  let bits: number | undefined;
  const phys = cpu['phys-bits'];
  if (phys) {
    if (phys === 'host') bits = ctx.host.physAddrBits;
    else if (/^\d+$/.test(phys)) bits = Number(phys);
  }
  if (bits === undefined) {
    const hostBits = ctx.host.physAddrBits || 36;
    bits = cpu.cputype && /^(host|max)$/.test(cpu.cputype) ? hostBits : Math.min(hostBits, 40);
  }
  bits &= ~1;
  const mb = 2 ** (bits - 21);
  return Math.min(mb, 4 * 1024 * 1024);
}

function hugepagesSize(ctx: Cfg2CmdContext, size: number): number {
  const hp = ctx.conf.hugepages as string;
  if (size <= 0 || size % 2 !== 0) die(`memory size '${perlNumber(size)}' is not a positive even integer; cannot use for hugepages`);
  if (!ctx.host.hugepagesSupported) die("your system doesn't support hugepages");
  if (hp === 'any') return size % 1024 === 0 ? 1024 : 2;
  const want = Number(hp);
  if (size % want !== 0) die(`Memory size ${perlNumber(size)} is not a multiple of the requested hugepages size ${want}`);
  return want;
}

function memObject(ctx: Cfg2CmdContext, id: string, size: number): string {
  const sz = perlNumber(size);
  if (ctx.conf.hugepages) {
    const hp = hugepagesSize(ctx, size);
    return `memory-backend-file,id=${id},size=${sz}M,mem-path=/run/hugepages/kvm/${hp * 1024}kB,share=on,prealloc=yes`;
  }
  if (id.startsWith('virtiofs-mem')) return `memory-backend-memfd,id=${id},size=${sz}M,share=on`;
  return `memory-backend-ram,id=${id},size=${sz}M`;
}

function printHostnodes(sets: [number, number | undefined][]): string {
  return sets.map(([s, e]) => (e === undefined ? `${s}` : `${s}-${e}`)).join(',');
}

function numaNodeList(ctx: Cfg2CmdContext): number[] {
  const list: number[] = [];
  for (let i = 0; i < MAX_NUMA; i++) if (ctx.conf[`numa${i}`]) list.push(i);
  if (list.length) return list;
  const sockets = Number(ctx.conf.sockets) || 1;
  return Array.from({ length: sockets }, (_, i) => i);
}

/** Memory::config. `sockets`/`cores` as config_to_command computed them. */
export function emitMemory(
  ctx: Cfg2CmdContext,
  sockets: number,
  cores: number,
  hotplug: boolean,
  virtiofs: boolean,
  cmd: string[],
  machineFlags: string[],
): void {
  const conf = ctx.conf;
  const memory = currentMemory(conf.memory);
  let staticMemory: number;
  if (hotplug) {
    if (!perlTrue(conf.numa)) die('NUMA needs to be enabled for memory hotplug');
    const max = maxMem(ctx);
    if (memory > max) die(`Total memory is bigger than ${max}MB`);
    for (let i = 0; i < MAX_NUMA; i++) if (conf[`numa${i}`]) die('cannot enable memory hotplugging with custom NUMA topology');
    const sock = Number(conf.sockets) || 1;
    staticMemory = STATIC_MEM;
    if (conf.hugepages && Number(conf.hugepages) === 1024) staticMemory *= sock;
    if (memory < staticMemory) die(`minimum memory must be ${staticMemory}MB`);
    cmd.push('-m', `size=${staticMemory},slots=255,maxmem=${max}M`);
  } else {
    staticMemory = memory;
    cmd.push('-m', String(staticMemory));
  }
  if (conf.hugepages && !perlTrue(conf.numa)) die('numa needs to be enabled to use hugepages');
  if (hotplug && virtiofs) die('Memory hotplug does not work in combination with virtio-fs.');

  if (perlTrue(conf.numa)) {
    let total = 0;
    for (let i = 0; i < MAX_NUMA; i++) {
      const entry = conf[`numa${i}`];
      if (!entry) continue;
      const numa = readPropertyString(numaFormat, entry);
      if (!numa.memory || Number(numa.memory) === 0) die(`missing NUMA node${i} memory value`);
      const numaMemory = Number(numa.memory);
      total += numaMemory;
      const memdev = virtiofs ? `virtiofs-mem${i}` : `ram-node${i}`;
      let obj = memObject(ctx, memdev, numaMemory);
      if (numa.cpus === undefined) die(`missing NUMA node${i} cpus`);
      const cpus = parseNumberSets(numa.cpus as string)
        .map(([s, e]) => (e === undefined ? `${s}` : `${s}-${e}`))
        .join(',cpus=');
      if (numa.hostnodes !== undefined) {
        const hostnodes = printHostnodes(parseNumberSets(numa.hostnodes));
        if (!numa.policy) die(`you need to define a policy for hostnode ${hostnodes}`);
        obj += `,host-nodes=${hostnodes},policy=${numa.policy}`;
      } else if (conf.hugepages) {
        die('numa hostnodes need to be defined to use hugepages');
      }
      cmd.push('-object', obj, '-numa', `node,nodeid=${i},cpus=${cpus},memdev=${memdev}`);
    }
    if (total && total !== staticMemory) die('total memory for NUMA nodes must be equal to vm static memory');
    if (!total) {
      const numaMemory = staticMemory / sockets;
      for (let i = 0; i < sockets; i++) {
        let cpus = `${cores * i}`;
        if (cores > 1) cpus += `-${cores * i + cores - 1}`;
        const memdev = virtiofs ? `virtiofs-mem${i}` : `ram-node${i}`;
        cmd.push('-object', memObject(ctx, memdev, numaMemory));
        cmd.push('-numa', `node,nodeid=${i},cpus=${cpus},memdev=${memdev}`);
      }
    }
  } else if (virtiofs) {
    cmd.push('-object', `memory-backend-memfd,id=virtiofs-mem,size=${conf.memory ?? ''}M,share=on`);
    machineFlags.push('memory-backend=virtiofs-mem');
  }

  if (hotplug && staticMemory !== memory) {
    const numaMap = numaNodeList(ctx);
    let dimmSize = conf.hugepages && Number(conf.hugepages) === 1024 ? 1024 : 512;
    let current = staticMemory;
    let dimmId = 0;
    outer: for (let j = 0; j < 8; j++) {
      for (let i = 0; i < 32; i++) {
        const name = `dimm${dimmId}`;
        dimmId++;
        const node = numaMap[i % numaMap.length] as number;
        current += dimmSize;
        cmd.push('-object', memObject(ctx, `mem-${name}`, dimmSize));
        cmd.push('-device', `pc-dimm,id=${name},memdev=mem-${name},node=${node}`);
        if (current > memory) die(`memory size (${memory}) must be aligned to ${dimmSize} for hotplugging`);
        if (current >= memory) break outer;
      }
      dimmSize *= 2;
    }
  }
}
