/**
 * @module api/routes/qemu-agent
 * The guest agent endpoints of qemu-server's API2/Qemu/Agent.pm: `GET …/agent` (the command
 * index), one endpoint per simple command with the HTTP method of AGENT_COMMANDS and the
 * answer `{ result }`, the old generic `POST …/agent` with `command`, `POST …/agent/exec`
 * (argv as an array parameter plus `input-data`; answers the pid at once) and
 * `GET …/agent/exec-status?pid=N`. Privileges as qemu-server 9.2: each command's own
 * VM.GuestAgent.* privilege (or VM.PowerMgmt) or VM.GuestAgent.Unrestricted, exec and the
 * generic endpoint Unrestricted only. The checks and texts (`No QEMU guest agent configured`,
 * `VM N is not running`, `QEMU guest agent is not running`) come from src/agent, as for the CLI.
 */

import { AGENT_COMMANDS, agentCommand, agentExec, agentExecStatus } from '../../agent/index.js';
import { requirePrivs, vmAcl } from '../permissions.js';
import { vmPath } from '../schemas.js';
import type { ApiRequest, RouteDef } from '../types.js';
import { loadVm, vmidOf } from '../vm-task.js';

const UNRESTRICTED = 'VM.GuestAgent.Unrestricted';
const AUDIT = 'VM.GuestAgent.Audit';
const FS_MGMT = 'VM.GuestAgent.FileSystemMgmt';

/** The privilege each simple command needs besides Unrestricted (Agent.pm's `perms`). */
const COMMAND_PRIVS: Readonly<Record<string, readonly string[]>> = {
  'fsfreeze-status': [AUDIT, FS_MGMT],
  'fsfreeze-freeze': [FS_MGMT],
  'fsfreeze-thaw': [FS_MGMT],
  fstrim: [FS_MGMT],
  shutdown: ['VM.PowerMgmt'],
  'suspend-disk': ['VM.PowerMgmt'],
  'suspend-hybrid': ['VM.PowerMgmt'],
  'suspend-ram': ['VM.PowerMgmt'],
};

/** qemu_exec's `input-data` limit on the API (the CLI's `--pass-stdin` allows 1 MiB). */
const MAX_API_INPUT_BYTES = 64 * 1024;

const unrestricted = requirePrivs(vmAcl, [UNRESTRICTED]);

/** The agent context of the server's lifecycle (host paths, config reads). */
const agentContext = (req: ApiRequest) => req.server.lifecycle();

function commandRoute(command: string): RouteDef {
  return {
    method: AGENT_COMMANDS[command] as 'GET' | 'POST',
    path: `/nodes/{node}/qemu/{vmid}/agent/${command}`,
    params: vmPath(),
    permissions: requirePrivs(vmAcl, [...(COMMAND_PRIVS[command] ?? [AUDIT]), UNRESTRICTED], true),
    handler: async (req) => {
      await loadVm(req);
      return agentCommand(await agentContext(req), vmidOf(req), command);
    },
  };
}

const commandNames = Object.keys(AGENT_COMMANDS).sort();

export const qemuAgentRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/agent',
    params: vmPath(),
    // qemu-server: `user => 'all'`; the endpoints below check their own privileges
    handler: async () => [...commandNames, 'exec', 'exec-status'].sort().map((name) => ({ name })),
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/agent',
    params: vmPath({ command: { type: 'string', enum: commandNames, description: 'The QGA command.' } }),
    permissions: unrestricted,
    handler: async (req) => {
      await loadVm(req);
      return agentCommand(await agentContext(req), vmidOf(req), req.params.command as string);
    },
  },
  ...commandNames.map(commandRoute),
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/agent/exec',
    params: vmPath({
      'input-data': {
        type: 'string',
        optional: true,
        maxLength: MAX_API_INPUT_BYTES,
        description: "Data to pass as 'input-data' to the guest. Usually treated as STDIN to 'command'.",
      },
    }),
    lists: { command: { type: 'string', optional: true, description: 'The command as a list of program + arguments.' } },
    permissions: unrestricted,
    handler: async (req) => {
      await loadVm(req);
      const inputData = req.params['input-data'];
      const res = await agentExec(await agentContext(req), vmidOf(req), {
        synchronous: false,
        ...(req.lists?.command ? { command: req.lists.command } : {}),
        ...(inputData !== undefined ? { inputData } : {}),
      });
      return res.result;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/agent/exec-status',
    params: vmPath({ pid: { type: 'integer', description: 'The PID to query' } }),
    permissions: unrestricted,
    handler: async (req) => {
      await loadVm(req);
      return agentExecStatus(await agentContext(req), vmidOf(req), Number(req.params.pid));
    },
  },
];
