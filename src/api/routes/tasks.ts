/**
 * @module api/routes/tasks
 * Worker tasks of this node: the list (`GET /nodes/{node}/tasks`, newest first), a task's
 * index, status (`status` running/stopped, `exitstatus` only once stopped) and log (lines
 * numbered from 1 with the envelope's `total`, `[{n:1,t:"no content"}]` when empty), and
 * `DELETE` to stop a running task. Like PVE, a user sees their own tasks; other users' tasks
 * need Sys.Audit (Sys.Modify to stop them) on the node. A UPID that does not parse is
 * `unable to parse worker upid`, an unknown one `no such task` (both 400 on `upid`).
 */

import { CvmError } from '../../errors.js';
import type { TaskStatus } from '../../tasks/store.js';
import { decodeUpid } from '../../tasks/upid.js';
import { intParam, paramError } from '../params.js';
import { node, upid, vmid } from '../schemas.js';
import { type ApiRequest, Envelope, identityOf, type RouteDef } from '../types.js';

/** PVE splits a task's token user `root@pam!tok` into `user` and `tokenid` (split_tokenid). */
export function splitTaskUser(user: string): { user: string; tokenid?: string } {
  const bang = user.indexOf('!');
  return bang === -1 ? { user } : { user: user.slice(0, bang), tokenid: user.slice(bang + 1) };
}

function statusObject(st: TaskStatus): Record<string, string | number> {
  const { user, tokenid } = splitTaskUser(st.user);
  const out: Record<string, string | number> = {
    upid: st.upid,
    node: st.node,
    pid: st.pid,
    pstart: st.pstart,
    starttime: st.starttime,
    type: st.type,
    id: st.id,
    user,
    status: st.status,
  };
  if (tokenid !== undefined) out.tokenid = tokenid;
  if (st.exitstatus !== undefined) out.exitstatus = st.exitstatus;
  return out;
}

function checkedUpid(req: ApiRequest): string {
  const text = req.params.upid as string;
  if (!decodeUpid(text)) throw paramError({ upid: 'unable to parse worker upid' });
  return text;
}

/** Own tasks are always visible; others need `priv` on the node. */
async function checkTaskAccess(req: ApiRequest, text: string, priv: string): Promise<void> {
  const identity = identityOf(req);
  const owner = decodeUpid(text)?.user;
  if (owner === identity.authid || (identity.tokenid === undefined && owner?.startsWith(`${identity.userid}!`))) return;
  await req.server.access.check(identity, `/nodes/${req.params.node}`, [priv]);
}

const status = (req: ApiRequest, text: string) => req.server.tasks.store.status(text, (u) => req.server.tasks.isRunning(u));

export const taskRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    params: {
      node,
      start: { type: 'integer', optional: true, minimum: 0 },
      limit: { type: 'integer', optional: true, minimum: 0 },
      vmid: { ...vmid, optional: true },
      typefilter: { type: 'string', optional: true },
      userfilter: { type: 'string', optional: true },
      errors: { type: 'boolean', optional: true },
      source: { type: 'string', optional: true, enum: ['archive', 'active', 'all'] },
    },
    handler: async (req) => {
      const identity = identityOf(req);
      const mayAudit = (await req.server.access.privileges(identity, `/nodes/${req.params.node}`)).has('Sys.Audit');
      const start = intParam(req.params, 'start', 0);
      const limit = intParam(req.params, 'limit', 50);
      const rows: Record<string, string | number>[] = [];
      for (const text of await req.server.tasks.store.list()) {
        const u = decodeUpid(text);
        if (!u) continue;
        if (!mayAudit && u.user !== identity.authid) continue;
        if (req.params.vmid !== undefined && u.id !== req.params.vmid) continue;
        if (req.params.typefilter !== undefined && !u.type.includes(req.params.typefilter)) continue;
        if (req.params.userfilter !== undefined && !u.user.includes(req.params.userfilter)) continue;
        const st = await status(req, text);
        if (req.params.errors === '1' && (st.status === 'running' || st.exitstatus === 'OK')) continue;
        if (req.params.source === 'active' && st.status !== 'running') continue;
        const row = statusObject(st);
        if (st.status === 'running') delete row.status;
        else row.status = st.exitstatus as string;
        rows.push(row);
      }
      return new Envelope(rows.slice(start, start + limit), { total: rows.length });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}',
    params: { node, upid },
    handler: async (req) => {
      checkedUpid(req);
      return [{ name: 'log' }, { name: 'status' }];
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    params: { node, upid },
    permissions: async (req) => checkTaskAccess(req, checkedUpid(req), 'Sys.Audit'),
    handler: async (req) => statusObject(await status(req, checkedUpid(req))),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    params: {
      node,
      upid,
      start: { type: 'integer', optional: true, minimum: 0 },
      limit: { type: 'integer', optional: true, minimum: 0 },
      download: { type: 'boolean', optional: true },
    },
    permissions: async (req) => checkTaskAccess(req, checkedUpid(req), 'Sys.Audit'),
    handler: async (req) => {
      const text = checkedUpid(req);
      if (req.params.download === '1') {
        const lines = await req.server.tasks.store.lines(text);
        return lines.join('\n');
      }
      const { lines, total } = await req.server.tasks.store.log(text, intParam(req.params, 'start', 0), intParam(req.params, 'limit', 50));
      return new Envelope(lines, { total });
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/tasks/{upid}',
    params: { node, upid },
    permissions: async (req) => checkTaskAccess(req, checkedUpid(req), 'Sys.Modify'),
    handler: async (req) => {
      const text = checkedUpid(req);
      await req.server.tasks.store.lines(text); // no such task
      if (!(await req.server.tasks.stop(text)) && (await status(req, text)).status === 'running') {
        throw new CvmError('INTERNAL', `task ${text} runs in another process - cannot stop it from here`);
      }
      return null;
    },
  },
];
