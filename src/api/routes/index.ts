/**
 * @module api/routes
 * Every route of the REST API, one file per endpoint group.
 */

import type { RouteDef } from '../types.js';
import { accessRoutes } from './access.js';
import { capabilityRoutes } from './capabilities.js';
import { clusterRoutes } from './cluster.js';
import { cvmRoutes } from './cvm.js';
import { cvmNodeRoutes } from './cvm-node.js';
import { migrateRoutes } from './migrate.js';
import { nodeRoutes } from './nodes.js';
import { poolRoutes } from './pools.js';
import { qemuRoutes } from './qemu.js';
import { qemuAgentRoutes } from './qemu-agent.js';
import { qemuCloudinitRoutes } from './qemu-cloudinit.js';
import { qemuConfigRoutes } from './qemu-config.js';
import { qemuDiskRoutes } from './qemu-disk.js';
import { qemuSnapshotRoutes } from './qemu-snapshot.js';
import { qemuStatusRoutes } from './qemu-status.js';
import { storageRoutes } from './storage.js';
import { taskRoutes } from './tasks.js';
import { versionRoutes } from './version.js';

export const allRoutes: readonly RouteDef[] = [
  ...versionRoutes,
  ...accessRoutes,
  ...nodeRoutes,
  ...clusterRoutes,
  ...poolRoutes,
  ...qemuRoutes,
  ...qemuConfigRoutes,
  ...qemuStatusRoutes,
  ...qemuDiskRoutes,
  ...qemuAgentRoutes,
  ...qemuCloudinitRoutes,
  ...qemuSnapshotRoutes,
  ...migrateRoutes,
  ...taskRoutes,
  ...storageRoutes,
  ...capabilityRoutes,
  ...cvmRoutes,
  ...cvmNodeRoutes,
];
