/**
 * @module api/routes/access
 * The public part of `/access`: `GET /access/ticket` (a dummy for the GUI's login page),
 * `POST /access/ticket` (password login, or renewal with a valid ticket as password; any
 * failure is `401 authentication failure` with a JSON body, after the same delay as other
 * 401s) and `GET /access/domains` (the realms a login form offers). Two-factor parameters
 * (`otp`, `tfa-challenge`) and the verify-only mode (`path` + `privs`) are not supported and
 * refused as unknown parameters.
 */

import type { RouteDef } from '../types.js';

export const accessRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/access',
    handler: async () => [{ subdir: 'ticket' }, { subdir: 'domains' }],
  },
  { method: 'GET', path: '/access/ticket', noAuth: true, handler: async () => null },
  {
    method: 'POST',
    path: '/access/ticket',
    noAuth: true,
    params: {
      username: { type: 'string', maxLength: 64 },
      password: { type: 'string' },
      realm: { type: 'string', optional: true, maxLength: 32 },
      // PVE ignores it too: tickets always have the new format
      'new-format': { type: 'boolean', optional: true },
    },
    handler: async (req) => {
      const { username, password, realm } = req.params as { username: string; password: string; realm?: string };
      return req.server.access.login({ username, password, ...(realm !== undefined ? { realm } : {}) });
    },
  },
  {
    method: 'GET',
    path: '/access/domains',
    noAuth: true,
    handler: async () => [
      { realm: 'pam', type: 'pam', comment: 'Linux PAM standard authentication' },
      { realm: 'pve', type: 'pve', comment: 'Proxmox VE authentication server' },
    ],
  },
];
