/**
 * @module qemu/cfg2cmd
 * The config → QEMU command generator (qemu-server 9.2.6 config_to_command).
 */

export type { BootOrder, Cfg2CmdContext, DeviceList } from './context.js';
export {
  type ConfigToCommandOptions,
  type ConfigToCommandResult,
  configToCommand,
} from './generate.js';
export {
  extractVersion,
  getVmMachine,
  minVersion,
  PVE_MACHINE_REVISIONS,
  windowsVersion,
} from './version.js';
