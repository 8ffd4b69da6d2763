/**
 * @module qemu/qmp
 * The QEMU Machine Protocol client used by the lifecycle commands: connection and command
 * queue (`client`), per-command timeouts (`timeouts`), line framing (`framing`) and typed
 * command wrappers (`commands`), and a connect-per-command session for long polls (`per-command`).
 */

export { QmpClient, QmpError, type QmpClientOptions, type QmpEvent, type QmpGreeting, type ExecuteOptions } from './client.js';
export { DEFAULT_QMP_TIMEOUT_MS, qmpTimeoutFor } from './timeouts.js';
export { LineDecoder, encodeCommand, type QmpMessage } from './framing.js';
export * from './commands.js';
export { perCommandQmp, type QmpExecutor } from './per-command.js';
