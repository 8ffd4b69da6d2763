/**
 * @module run/hotplug/qmp-devices
 * The QMP building blocks of qemu-server's hotplug code: which devices a running VM has
 * (vm_devices_list: PCI qdev ids including those behind bridges, drives by their qdev, the
 * tablet, and every device of /machine/peripheral), device_add from a `-device` string the way qemu_deviceadd splits it, device_del
 * with the verify loops and their texts (`error on hot-unplugging device 'net1' - still busy
 * in guest?`), and attaching/detaching a drive's blockdev tree with its throttle group (also
 * any block node tree, e.g. a mirror's source or target).
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

interface BlockGraph {
  nodes: { id: number; type: string; name: string }[];
  edges: { parent: number; child: number; name: string }[];
}

/**
 * Every block node of the VM with its children by role (`file`, `backing`, …). qemu-server reads
 * the `children` field pve-qemu adds to query-named-block-nodes; stock QEMU 10.0 has no such
 * field, its block graph query has the same edges.
 */
export async function blockNodeChildren(qmp: QmpClient): Promise<Map<string, Map<string, string>>> {
  const graph = await qmp.execute<BlockGraph>('x-debug-query-block-graph');
  const byId = new Map(graph.nodes.filter((n) => n.type === 'block-driver').map((n) => [n.id, n.name]));
  const children = new Map<string, Map<string, string>>([...byId.values()].map((name) => [name, new Map()]));
  for (const edge of graph.edges) {
    const parent = byId.get(edge.parent);
    const child = byId.get(edge.child);
    if (parent !== undefined && child !== undefined) children.get(parent)?.set(edge.name, child);
  }
  return children;
}

/**
 * Blockdev::detach: delete block node `nodeName` and its `file` children (and `backing` ones
 * with `followBacking`) — QEMU drops implicitly added children itself, not those added by
 * blockdev-add (a previous mirror target). A drive's top node `drive-<id>` takes its throttle
 * group along.
 */
export async function detachBlockNode(qmp: QmpClient, nodeName: string, opts: { followBacking?: boolean } = {}): Promise<void> {
  const nodes = await blockNodeChildren(qmp);
  const throttleGroup = /^drive-([a-z]+\d+)$/.test(nodeName) && nodes.has(nodeName) ? `throttle-${nodeName}` : undefined;
  const queue = [nodeName];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const children = nodes.get(name);
    if (!children) continue; // already gone
    try {
      await qmp.execute('blockdev-del', { 'node-name': name });
    } catch (err) {
      if (!/Failed to find node with node-name/.test((err as Error).message)) {
        throw new CvmError('QMP_ERROR', `deleting blockdev '${name}' failed : ${(err as Error).message}`, { cause: err });
      }
    }
    const file = children.get('file');
    if (file) queue.push(file);
    const backing = children.get('backing');
    if (backing && opts.followBacking) queue.push(backing);
  }
  if (throttleGroup) {
    await qmp.execute('object-del', { id: throttleGroup }).catch((err: Error) => {
      throw new CvmError('QMP_ERROR', `removing throttle group failed - ${err.message}`, { cause: err });
    });
  }
}

/** Blockdev::detach of a drive's top node `drive-<id>`: the node and its file and backing children, then the throttle group. */
export async function detachBlockdev(qmp: QmpClient, driveId: string): Promise<void> {
  await detachBlockNode(qmp, `drive-${driveId}`, { followBacking: true });
}

/** query-cpus-fast: how many vCPUs QEMU runs now. */
export async function runningVcpus(qmp: QmpClient): Promise<number> {
  return (await qmp.execute<unknown[]>('query-cpus-fast')).length;
}
