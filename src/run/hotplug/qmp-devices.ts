/**
 * @module run/hotplug/qmp-devices
 * The QMP building blocks of qemu-server's hotplug code: which devices a running VM has
 * (vm_devices_list: PCI qdev ids including those behind bridges, drives by their qdev, the
 * tablet, and every device of /machine/peripheral), device_add from a `-device` string the way qemu_deviceadd splits it, device_del
 * with the verify loops and their texts (`error on hot-unplugging device 'net1' - still busy
 * in guest?`), and attaching/detaching a drive's blockdev tree with its throttle group.
 */

import { CvmError } from '../../errors.js';
import type { QmpClient as FullQmpClient } from '../../qemu/qmp/index.js';

/** The one thing hotplug needs of a QMP session (a lazily connecting one in practice). */
export type QmpClient = Pick<FullQmpClient, 'execute'>;
import { sleep } from '../wait.js';

interface PciDevice {
  qdev_id?: string;
  pci_bridge?: { devices?: PciDevice[] };
}

/** qdev_id_to_drive_id: virtio-blk reports its backend path, SCSI/SATA/IDE the drive id. */
function qdevToDriveId(qdev: string): string {
  const m = /^\/machine\/peripheral\/(virtio\d+)\/virtio-backend$/.exec(qdev);
  return m ? (m[1] as string) : qdev;
}

/** vm_devices_list: ids of the devices QEMU has now. */
export async function devicesList(qmp: QmpClient): Promise<Set<string>> {
  const ids = new Set<string>();
  const buses = await qmp.execute<{ devices: PciDevice[] }[]>('query-pci');
  let queue = buses.flatMap((b) => b.devices);
  while (queue.length > 0) {
    const next: PciDevice[] = [];
    for (const d of queue) {
      if (d.qdev_id) ids.add(d.qdev_id);
      if (d.pci_bridge?.devices) next.push(...d.pci_bridge.devices);
    }
    queue = next;
  }
  for (const block of await qmp.execute<{ qdev?: string }[]>('query-block')) if (block.qdev) ids.add(qdevToDriveId(block.qdev));
  const mice = await qmp.execute<{ name: string }[]>('query-mice');
  if (mice.some((m) => m.name === 'QEMU HID Tablet')) ids.add('tablet');
  // USB devices have no query command (qemu-server takes usbN / usbredirdevN from here). cvmctl
  // takes every device with an id from here: query-pci finds devices behind a PCI bridge only
  // once the firmware has numbered the bridge's bus, which OVMF under TCG takes seconds to do
  // (and a VM started paused never does) — a disk added then would never be "seen", an unplug skipped
  for (const child of await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/machine/peripheral' })) {
    if (child.type.startsWith('child<')) ids.add(child.name);
  }
  return ids;
}

/**
 * qemu_deviceadd: HMP `device_add driver=<device string>` (25 s), as qemu-server sends it
 * since QMP's device_add wants typed JSON values. HMP answers errors as text.
 */
export async function deviceAdd(qmp: QmpClient, device: string): Promise<void> {
  await hmp(qmp, `device_add driver=${device}`, 'device_add');
}

async function hmp(qmp: QmpClient, line: string, what: string): Promise<void> {
  if (/[\r\n]/.test(line)) throw new CvmError('INTERNAL', `${what}: refusing a monitor line with a line break`);
  const out = await qmp.execute<string>('human-monitor-command', { 'command-line': line }, { timeoutMs: 25_000 });
  const text = out.trim();
  if (text) throw new CvmError('QMP_ERROR', `${what} failed - ${text.replace(/^Error: /, '')}`);
}

/** qemu_deviceaddverify: the device must show up within about 5 s. */
export async function deviceAddVerify(qmp: QmpClient, id: string, pollMs = 1000): Promise<void> {
  for (let i = 0; i <= 5; i++) {
    if ((await devicesList(qmp)).has(id)) return;
    await sleep(pollMs);
  }
  throw new CvmError('QMP_ERROR', `error on hotplug device '${id}'`);
}

/**
 * qemu_devicedel: HMP `device_del <id>` (25 s). Like qemu-server its answer is not checked:
 * the verify loop that follows decides (and names the failure the way qemu-server does).
 */
export async function deviceDel(qmp: QmpClient, id: string): Promise<void> {
  await hmp(qmp, `device_del ${id}`, 'device_del').catch(() => undefined);
}

/** qemu_devicedelverify: device_del is asynchronous; the guest has `timeoutSec` (default 5) to let go. */
export async function deviceDelVerify(qmp: QmpClient, id: string, timeoutSec = 5, pollMs = 1000): Promise<void> {
  for (let i = 0; i <= timeoutSec; i++) {
    if (!(await devicesList(qmp)).has(id)) return;
    await sleep(pollMs);
  }
  throw new CvmError('QMP_ERROR', `error on hot-unplugging device '${id}' - still busy in guest?`);
}

/** Blockdev::attach: a fresh throttle group (a leftover removed first), then the node tree. */
export async function attachBlockdev(
  qmp: QmpClient,
  throttleGroup: Record<string, unknown> | undefined,
  blockdev: Record<string, unknown>,
): Promise<void> {
  const groupId = throttleGroup?.id as string | undefined;
  try {
    if (throttleGroup && groupId) {
      await qmp.execute('object-del', { id: groupId }).catch(() => undefined);
      await qmp.execute('object-add', throttleGroup);
    }
    await qmp.execute('blockdev-add', blockdev);
  } catch (err) {
    if (groupId) await qmp.execute('object-del', { id: groupId }).catch(() => undefined);
    throw err;
  }
}

interface NamedNode {
  'node-name': string;
  children?: { child: string; 'node-name': string }[];
}

/** Blockdev::detach of a drive's top node `drive-<id>`: the node and its file children, then the throttle group. */
export async function detachBlockdev(qmp: QmpClient, driveId: string): Promise<void> {
  const top = `drive-${driveId}`;
  const nodes = new Map((await qmp.execute<NamedNode[]>('query-named-block-nodes')).map((n) => [n['node-name'], n]));
  const hadTop = nodes.has(top);
  const queue = [top];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const node = nodes.get(name);
    if (!node) continue;
    try {
      await qmp.execute('blockdev-del', { 'node-name': name });
    } catch (err) {
      if (!/Failed to find node with node-name/.test((err as Error).message)) {
        throw new CvmError('QMP_ERROR', `deleting blockdev '${name}' failed : ${(err as Error).message}`, { cause: err });
      }
    }
    for (const child of node.children ?? []) if (child.child === 'file' || child.child === 'backing') queue.push(child['node-name']);
  }
  if (hadTop) {
    await qmp.execute('object-del', { id: `throttle-drive-${driveId}` }).catch((err: Error) => {
      throw new CvmError('QMP_ERROR', `removing throttle group failed - ${err.message}`, { cause: err });
    });
  }
}

/** query-cpus-fast: how many vCPUs QEMU runs now. */
export async function runningVcpus(qmp: QmpClient): Promise<number> {
  return (await qmp.execute<unknown[]>('query-cpus-fast')).length;
}
