/**
 * @module qemu/cfg2cmd
 * The config → QEMU command generator (qemu-server 9.2.6 config_to_command).
 */
export { configToCommand, type ConfigToCommandOptions, type ConfigToCommandResult } from './generate.js';
export type { Cfg2CmdContext, DeviceList, BootOrder } from './context.js';
export { getVmMachine, extractVersion, minVersion, windowsVersion, PVE_MACHINE_REVISIONS } from './version.js';
