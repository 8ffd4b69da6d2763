/**
 * @module api/routes/version
 * `GET /version` and the API root index. The version reported is the pve-manager release whose
 * API cvmctl follows (clients gate features on it: Ansible wants >= 8, bpg parses it with
 * go-version), with cvmctl's own version alongside.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RouteDef } from '../types.js';

/** The pve-manager API level cvmctl implements (pve-api.md sources). */
export const PVE_API_VERSION = '9.2.11';

let ownVersion: string | undefined;
/** cvmctl's package version: the nearest package.json above this module (bundled or not). */
export function cvmctlVersion(): string {
  if (ownVersion !== undefined) return ownVersion;
  ownVersion = 'unknown';
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cvmctl' && pkg.version) {
        ownVersion = pkg.version;
        break;
      }
    } catch {
      // not here: one level up
    }
  }
  return ownVersion;
}

export const versionRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/',
    handler: async () => [
      { subdir: 'version' },
      { subdir: 'cluster' },
      { subdir: 'nodes' },
      { subdir: 'storage' },
      { subdir: 'access' },
      { subdir: 'pools' },
    ],
  },
  {
    method: 'GET',
    path: '/version',
    handler: async () => ({
      version: PVE_API_VERSION,
      release: PVE_API_VERSION.split('.').slice(0, 2).join('.'),
      repoid: 'cvmctl',
      cvmctl: cvmctlVersion(),
    }),
  },
];
