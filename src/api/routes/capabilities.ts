/**
 * @module api/routes/capabilities
 * `GET /nodes/{node}/capabilities` and its `qemu` index, as pve-manager lists them, plus
 * cvmctl's confidential-computing extension below it (see routes/cvm).
 */

import { requirePrivs, nodeAcl } from '../permissions.js';
import { node } from '../schemas.js';
import type { RouteDef } from '../types.js';

const audit = requirePrivs(nodeAcl, ['Sys.Audit']);

export const capabilityRoutes: RouteDef[] = [
  { method: 'GET', path: '/nodes/{node}/capabilities', params: { node }, permissions: audit, handler: async () => [{ name: 'qemu' }] },
  {
    method: 'GET',
    path: '/nodes/{node}/capabilities/qemu',
    params: { node },
    permissions: audit,
    handler: async () => [{ name: 'cvm' }],
  },
];
