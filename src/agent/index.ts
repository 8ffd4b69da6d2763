/**
 * @module agent
 * The QEMU guest agent of a running VM: the per-command socket client (`client`) and the
 * qemu-server operations on top of it (`commands`) that the CLI's `cvmctl agent` and the
 * API's `…/agent/*` endpoints share.
 */

export { qgaCommand, parseSyncedReply, type QgaReply, type QgaCommandOptions } from './client.js';
export {
  AGENT_COMMANDS,
  MAX_EXEC_INPUT_BYTES,
  agentCommand,
  agentEnabled,
  agentExec,
  agentExecStatus,
  agentSocketPath,
  assertAgentAvailable,
  qgaCheckRunning,
  qgaKey,
  type AgentContext,
  type ExecOptions,
  type ExecStatus,
} from './commands.js';
