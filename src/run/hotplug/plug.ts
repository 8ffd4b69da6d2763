/**
 * @module run/hotplug/plug
 * vm_deviceplug / vm_deviceunplug / qemu_cpu_hotplug for what cvmctl hotplugs: virtio and
 * SCSI disks (with the SCSI controller and PCI bridge they need), NICs (tap prepared first,
 * netdev_add, device_add, link state) and vCPUs. The device strings come from the command
 * line a start with the new config would get (`argv-parts`), so IDs, PCI addresses and node
 * names are the generator's. Every plug undoes its partial work when a step fails.
 */

import { CvmError } from '../../errors.js';
import type { QmpClient } from './qmp-devices.js';
import type { ConfigSection } from '../../config/types.js';
import type { NetTools } from '../net-tools.js';
import { createTaps, removeTaps, tapPlanFor } from '../network.js';
import { sleep } from '../wait.js';
import { blockdevArg, deviceArg, netdevArg, objectArg } from './argv-parts.js';
import {
  attachBlockdev,
  deviceAdd,
  deviceAddVerify,
  deviceDel,
  deviceDelVerify,
  detachBlockdev,
  devicesList,
  runningVcpus,
} from './qmp-devices.js';

export interface PlugEnv {
  qmp: QmpClient;
  vmid: number;
  net?: NetTools;
  /** Poll interval of the verify loops (qemu-server: 1 s). */
  pollMs?: number;
}

const fail = (message: string): never => {
  throw new CvmError('QMP_ERROR', message);
};

/** qemu_add_pci_bridge: the bridge a device sits behind, when it is not there yet. */
export async function ensurePciBridge(env: PlugEnv, argv: readonly string[], device: string): Promise<void> {
  const bus = /(?:^|,)bus=(pci\.\d+)(?:,|$)/.exec(device)?.[1];
  if (!bus || bus === 'pci.0' || (await devicesList(env.qmp)).has(bus)) return;
  const bridge = deviceArg(argv, bus) ?? fail(`can't hotplug device '${bus}'`);
  await deviceAdd(env.qmp, bridge);
  await deviceAddVerify(env.qmp, bus, env.pollMs);
}

async function iothreadAdd(env: PlugEnv, argv: readonly string[], id: string): Promise<void> {
  const thread = objectArg(argv, `iothread-${id}`);
  if (!thread) return;
  const threads = await env.qmp.execute<{ id: string }[]>('query-iothreads');
  if (!threads.some((t) => t.id === `iothread-${id}`))
    await env.qmp.execute('object-add', { 'qom-type': 'iothread', id: `iothread-${id}` });
}

async function iothreadDel(env: PlugEnv, id: string): Promise<void> {
  const threads = await env.qmp.execute<{ id: string }[]>('query-iothreads');
  if (threads.some((t) => t.id === `iothread-${id}`)) await env.qmp.execute('object-del', { id: `iothread-${id}` });
}

async function driveAdd(env: PlugEnv, argv: readonly string[], key: string): Promise<void> {
  const blockdev = blockdevArg(argv, `drive-${key}`) ?? fail(`can't hotplug device '${key}'`);
  await attachBlockdev(env.qmp, objectArg(argv, `throttle-drive-${key}`), blockdev);
}

/** The SCSI controller of a drive (`scsihwN` or `virtioscsiN`), from the device string. */
function scsiController(device: string): string | undefined {
  return /(?:^|,)bus=([a-z]+\d+)\.0(?:,|$)/.exec(device)?.[1];
}

/** Plug drive `key` (virtioN or scsiN) as the new config `argv` has it. */
export async function plugDrive(env: PlugEnv, argv: readonly string[], key: string): Promise<void> {
  if ((await devicesList(env.qmp)).has(key)) return;
  const device = deviceArg(argv, key) ?? fail(`can't hotplug device '${key}'`);
  if (/^virtio\d+$/.test(key)) {
    await ensurePciBridge(env, argv, device);
    await iothreadAdd(env, argv, key);
    await driveAdd(env, argv, key);
    try {
      await deviceAdd(env.qmp, device);
      await deviceAddVerify(env.qmp, key, env.pollMs);
    } catch (err) {
      await detachBlockdev(env.qmp, key).catch(() => undefined);
      throw err;
    }
    return;
  }
  if (/^scsi\d+$/.test(key)) {
    const controller = scsiController(device);
    if (controller && !(await devicesList(env.qmp)).has(controller)) {
      const ctrl = deviceArg(argv, controller) ?? fail(`can't hotplug device '${controller}'`);
      await ensurePciBridge(env, argv, ctrl);
      if (controller.startsWith('virtioscsi')) await iothreadAdd(env, argv, controller);
      await deviceAdd(env.qmp, ctrl);
      await deviceAddVerify(env.qmp, controller, env.pollMs);
    }
    await driveAdd(env, argv, key);
    try {
      await deviceAdd(env.qmp, device);
    } catch (err) {
      await detachBlockdev(env.qmp, key).catch(() => undefined);
      throw err;
    }
    return;
  }
  fail(`can't hotplug device '${key}'`);
}

/** Unplug drive `key`; `conf` is the config before the change (controller clean-up looks at it). */
export async function unplugDrive(env: PlugEnv, conf: ConfigSection, key: string): Promise<void> {
  if (!(await devicesList(env.qmp)).has(key)) return;
  if (/^virtio\d+$/.test(key)) {
    await deviceDel(env.qmp, key);
    await deviceDelVerify(env.qmp, key, 5, env.pollMs);
    await detachBlockdev(env.qmp, key);
    await iothreadDel(env, key);
    return;
  }
  if (/^scsi\d+$/.test(key)) {
    await deviceDel(env.qmp, key);
    await deviceDelVerify(env.qmp, key, 5, env.pollMs);
    await detachBlockdev(env.qmp, key);
    await deleteScsiController(env, conf, key);
    return;
  }
  fail(`can't unplug device '${key}'`);
}

/** qemu_deletescsihw: a controller goes once no SCSI disk it could serve is left. */
async function deleteScsiController(env: PlugEnv, conf: ConfigSection, key: string): Promise<void> {
  const { scsihwInfos } = await import('../../qemu/cfg2cmd/drives.js');
  const index = Number(key.slice(4));
  if (conf.scsihw === 'virtio-scsi-single') {
    await unplugController(env, `virtioscsi${index}`);
    return;
  }
  const { maxdev, controller } = scsihwInfos(conf.scsihw, index);
  for (const id of await devicesList(env.qmp)) {
    const m = /^scsi(\d+)$/.exec(id);
    if (m && Number(m[1]) < (maxdev - 1) * (controller + 1)) return;
  }
  await unplugController(env, `scsihw${controller}`);
}

async function unplugController(env: PlugEnv, id: string): Promise<void> {
  if (!(await devicesList(env.qmp)).has(id)) return;
  await deviceDel(env.qmp, id);
  await deviceDelVerify(env.qmp, id, 15, env.pollMs);
}

/** qemu_netdevadd: the `-netdev` string as netdev_add arguments (vhost boolean, queues number). */
export function netdevAddArgs(netdev: string): Record<string, unknown> {
  const parts = netdev.split(/[=,]/);
  const args: Record<string, unknown> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) args[parts[i] as string] = parts[i + 1];
  if (args.vhost !== undefined) args.vhost = /^(1|on|yes|true)$/i.test(String(args.vhost));
  if (args.queues !== undefined) args.queues = Number(args.queues);
  return args;
}

/** Plug NIC `key` with `value`: tap first (what pve-bridge-hotplug does), netdev, device, link. */
export async function plugNet(env: PlugEnv, argv: readonly string[], key: string, value: string): Promise<void> {
  if ((await devicesList(env.qmp)).has(key)) return;
  const netdev = netdevArg(argv, key) ?? fail(`can't hotplug device '${key}'`);
  const device = deviceArg(argv, key) ?? fail(`can't hotplug device '${key}'`);
  await ensurePciBridge(env, argv, device);
  const tap = tapPlanFor(env.vmid, key, value);
  if (tap) await createTaps([tap], env.net);
  let netdevAdded = false;
  try {
    await env.qmp.execute('netdev_add', netdevAddArgs(netdev));
    netdevAdded = true;
    await deviceAdd(env.qmp, device);
    await deviceAddVerify(env.qmp, key, env.pollMs);
    await env.qmp.execute('set_link', { name: key, up: !tap?.linkDown && !/(^|,)link_down=1(,|$)/.test(value) });
  } catch (err) {
    if (netdevAdded) await env.qmp.execute('netdev_del', { id: key }).catch(() => undefined);
    if (tap) await removeTaps([tap], env.net);
    throw err;
  }
}

export async function unplugNet(env: PlugEnv, key: string, oldValue: string | undefined): Promise<void> {
  if ((await devicesList(env.qmp)).has(key)) {
    await deviceDel(env.qmp, key);
    await deviceDelVerify(env.qmp, key, 5, env.pollMs);
  }
  // also when an earlier, timed-out unplug completed later (at a reset): its netdev is still there
  await env.qmp.execute('netdev_del', { id: key }).catch((err: Error) => {
    if (!/not found/i.test(err.message)) throw err;
  });
  const tap = oldValue ? tapPlanFor(env.vmid, key, oldValue) : undefined;
  if (tap) await removeTaps([tap], env.net);
}

/**
 * qemu_cpu_hotplug: grow by device_add of the CPU devices `argv` (generated with the target
 * count) names, each confirmed by query-cpus-fast; shrink by device_del from the top.
 * `setVcpus` records each confirmed step, as qemu-server writes the config after each CPU.
 */
export async function hotplugVcpus(
  env: PlugEnv,
  conf: ConfigSection,
  target: number | undefined,
  argv: readonly string[],
  setVcpus: (n: number) => void,
): Promise<void> {
  const sockets = Number(conf.sockets || conf.smp || 1);
  const maxcpus = sockets * (Number(conf.cores) || 1);
  const vcpus = target || maxcpus;
  if (vcpus > maxcpus) fail("you can't add more vcpus than maxcpus");
  const current = Number(conf.vcpus) || maxcpus;
  const pollMs = env.pollMs ?? 1000;
  if (vcpus < current) {
    for (let i = current; i > vcpus; i--) {
      await deviceDel(env.qmp, `cpu${i}`);
      for (let retry = 0; (await runningVcpus(env.qmp)) !== i - 1; retry++) {
        if (retry > 5) throw new CvmError('QMP_ERROR', `error unplugging cpu${i}`);
        await sleep(pollMs);
      }
      setVcpus(i - 1);
    }
    return;
  }
  if ((await runningVcpus(env.qmp)) !== current) fail('vcpus in running vm does not match its configuration');
  for (let i = current + 1; i <= vcpus; i++) {
    await deviceAdd(env.qmp, deviceArg(argv, `cpu${i}`) ?? fail(`can't hotplug device 'cpu${i}'`));
    for (let retry = 0; (await runningVcpus(env.qmp)) !== i; retry++) {
      if (retry > 10) throw new CvmError('QMP_ERROR', `error hotplugging cpu${i}`);
      await sleep(pollMs);
    }
    setVcpus(i);
  }
}
