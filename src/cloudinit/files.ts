/**
 * @module cloudinit/files
 * What goes on a VM's cloud-init volume, per format (qemu-server's generate_nocloud,
 * generate_configdrive2, generate_opennebula): the file tree and the ISO volume label
 * (`cidata`, `config-2`, `CONTEXT`). The format is `citype`, else configdrive2 for Windows
 * `ostype`s and nocloud otherwise. `cicustom` snippets replace the generated user, network,
 * meta or vendor file; the generated meta data carries the instance id qemu-server computes
 * (SHA-1 of user data + network data), so the guest re-runs cloud-init exactly when those
 * change. Also `dumpCloudinit` (qm cloudinit dump). Pure: snippets and resolv.conf come in.
 */

import { createHash } from 'node:crypto';
import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import { windowsVersion } from '../qemu/cfg2cmd/version.js';
import { cloudbaseNetworkEni, configdrive2Network, type NetworkInputs, nocloudNetwork } from './network.js';
import { openNebulaContext } from './opennebula.js';
import { sshKeyLines, userData } from './userdata.js';

export type CloudinitFormat = 'nocloud' | 'configdrive2' | 'opennebula';
export type CustomKind = 'user' | 'network' | 'meta' | 'vendor';

/** Files of the image: absolute path inside the ISO → contents. */
export interface CloudinitImage {
  format: CloudinitFormat;
  label: 'cidata' | 'config-2' | 'CONTEXT';
  files: Record<string, string>;
}

export interface GenerateInputs extends NetworkInputs {
  /** Contents of the `cicustom` snippets, by kind (read by the caller). */
  custom: Partial<Record<CustomKind, string>>;
}

/** All generated files together stay below this, so the ISO fits the 4 MiB volume. */
const MAX_FILES_BYTES = 3 * 1024 * 1024;

/** get_cloudinit_format. */
export function cloudinitFormat(conf: ConfigSection): CloudinitFormat {
  if (conf.citype !== undefined) return conf.citype as CloudinitFormat;
  return windowsVersion(conf.ostype) > 0 ? 'configdrive2' : 'nocloud';
}

function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** The instance id of the generated meta data: SHA-1 over user data then network data. */
export function instanceId(user: string, network: string): string {
  return sha1Hex(user + network);
}

export function nocloudMetadata(user: string, network: string): string {
  return `instance-id: ${instanceId(user, network)}\n`;
}

export function configdrive2Metadata(user: string, network: string): string {
  return `{\n     "uuid": "${instanceId(user, network)}",\n     "network_config": { "content_path": "/content/0000" }\n}\n`;
}

/** cloudbase_configdrive2_metadata: compact JSON (keys sorted; Perl's hash order is random). */
export function cloudbaseMetadata(uuid: string, conf: ConfigSection): string {
  const meta: Record<string, unknown> = { network_config: { content_path: '/content/0000' } };
  if (conf.cipassword) meta.admin_pass = conf.cipassword;
  if (conf.sshkeys !== undefined) {
    const keys = sshKeyLines(conf.sshkeys);
    if (keys.length > 0) meta.public_keys = Object.fromEntries(keys.map((k, i) => [`key-${i}`, k]));
  }
  meta.uuid = uuid;
  const sorted = Object.fromEntries(Object.entries(meta).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify(sorted);
}

function checkSize(files: Record<string, string>): void {
  const sum = Object.values(files).reduce((n, f) => n + Buffer.byteLength(f, 'utf8'), 0);
  if (sum > MAX_FILES_BYTES) throw new CvmError('PARAM_INVALID', 'Cloud-Init sum of snippets too big (> 3 MiB)');
}

/** The image qemu-server would write for this config (the cloud-init keys as they are in `conf`). */
export function cloudinitImage(conf: ConfigSection, vmid: number, inputs: GenerateInputs): CloudinitImage {
  const format = cloudinitFormat(conf);
  const { custom } = inputs;
  if (format === 'opennebula') {
    return { format, label: 'CONTEXT', files: { '/context.sh': openNebulaContext(conf, vmid, inputs) } };
  }
  const user = custom.user ?? userData(conf, vmid);
  const vendor = custom.vendor ?? '';
  let network: string;
  let meta: string;
  if (format === 'nocloud') {
    network = custom.network ?? nocloudNetwork(conf, inputs);
    meta = custom.meta ?? nocloudMetadata(user, network);
    const files = { '/user-data': user, '/network-config': network, '/meta-data': meta, '/vendor-data': vendor };
    checkSize(files);
    return { format, label: 'cidata', files };
  }
  if (format !== 'configdrive2') throw new CvmError('PARAM_INVALID', `missing cloudinit methods for format '${format}'`);
  if (windowsVersion(conf.ostype) > 0) {
    network = custom.network ?? cloudbaseNetworkEni(conf, inputs);
    meta = custom.meta ?? cloudbaseMetadata(instanceId(user, network), conf);
  } else {
    network = custom.network ?? configdrive2Network(conf, inputs);
    meta = custom.meta ?? configdrive2Metadata(user, network);
  }
  const files = {
    '/openstack/latest/user_data': user,
    '/openstack/content/0000': network,
    '/openstack/latest/meta_data.json': meta,
    '/openstack/latest/vendor_data.json': vendor,
  };
  checkSize(files);
  return { format, label: 'config-2', files };
}

export type DumpType = 'user' | 'network' | 'meta';

/**
 * dump_cloudinit_config (`qm cloudinit dump`, `GET …/cloudinit/dump`): the generated file of
 * that type, never a cicustom snippet; the password masked on request (the meta data is
 * computed from the unmasked user data, so it matches the image).
 */
export function dumpCloudinit(conf: ConfigSection, vmid: number, type: DumpType, inputs: NetworkInputs, maskPassword = false): string {
  const nocloud = cloudinitFormat(conf) === 'nocloud';
  if (type === 'user') return userData(conf, vmid, maskPassword);
  const network = nocloud ? nocloudNetwork(conf, inputs) : configdrive2Network(conf, inputs);
  if (type === 'network') return network;
  const user = userData(conf, vmid);
  return nocloud ? nocloudMetadata(user, network) : configdrive2Metadata(user, network);
}
