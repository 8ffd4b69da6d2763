/**
 * @module cli/main
 * The `cvmctl` entry point: every command module (see cli/program for how they run).
 * Start-up target: cold `cvmctl config` under 150 ms.
 */

import { commandModules } from './commands/index.js';
import { runCli } from './program.js';

runCli(commandModules);
