/**
 * @module api/routes/capabilities
 * `GET /nodes/{node}/capabilities` and its `qemu` index, as pve-manager lists them,
 * `…/qemu/machines` (the versioned q35/i440fx machine types of this node's QEMU, newest first,
 * from `-machine help` of the binary VMs run with; PVE reads a JSON file shipped with its QEMU
 * and adds `+pveN` revisions, which stock QEMU has none of), plus cvmctl's
 * confidential-computing extension below it (see routes/cvm).
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CvmError } from '../../errors.js';
import { nodeAcl, requirePrivs } from '../permissions.js';
import { node } from '../schemas.js';
import type { RouteDef } from '../types.js';

const run = promisify(execFile);

export interface MachineType {
  id: string;
  type: 'q35' | 'i440fx';
  version: string;
}

/** The versioned machine types in `-machine help` output, newest version first (q35 before i440fx). */
export function parseMachineHelp(text: string): MachineType[] {
  const out: MachineType[] = [];
  for (const line of text.split('\n')) {
    const m = /^(pc-(q35|i440fx)-(\d+)\.(\d+))\s/.exec(line);
    if (m) out.push({ id: m[1] as string, type: m[2] as 'q35' | 'i440fx', version: `${m[3]}.${m[4]}` });
  }
  const key = (v: string) => v.split('.').map(Number) as [number, number];
  return out.sort((a, b) => {
    const [am, an] = key(a.version);
    const [bm, bn] = key(b.version);
    return bm - am || bn - an || (a.type === b.type ? 0 : a.type === 'q35' ? -1 : 1);
  });
}

let machines: Promise<MachineType[]> | undefined;

const audit = requirePrivs(nodeAcl, ['Sys.Audit']);

export const capabilityRoutes: RouteDef[] = [
  { method: 'GET', path: '/nodes/{node}/capabilities', params: { node }, permissions: audit, handler: async () => [{ name: 'qemu' }] },
  {
    method: 'GET',
    path: '/nodes/{node}/capabilities/qemu',
    params: { node },
    permissions: audit,
    handler: async () => [{ name: 'machines' }, { name: 'cvm' }],
  },
  {
    method: 'GET',
    path: '/nodes/{node}/capabilities/qemu/machines',
    params: { node, arch: { type: 'string', optional: true, enum: ['x86_64', 'aarch64'] } },
    handler: async (req) => {
      const facts = await req.server.facts();
      const arch = req.params.arch ?? facts.arch;
      if (arch !== facts.arch)
        throw new CvmError('HOST_UNSUPPORTED', `could not load supported machine versions - no QEMU for arch '${arch}' here`);
      machines ??= run(facts.paths.kvmBinary, ['-machine', 'help'], { timeout: 20_000 }).then(
        ({ stdout }) => parseMachineHelp(stdout),
        (err: Error) => {
          machines = undefined;
          throw new CvmError('HOST_UNSUPPORTED', `could not load supported machine versions - ${err.message}`);
        },
      );
      return machines;
    },
  },
];
