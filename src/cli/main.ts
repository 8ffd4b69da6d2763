/**
 * @module cli/main
 * The `cvmctl` entry point: every command module (see cli/program for how they run).
 * Start-up target: cold `cvmctl config` under 150 ms. `done` settles when the command has
 * finished (the build's code-cache training runs the bundle several times in one process and
 * waits for each run, see bin/code-cache.js).
 */

import { commandModules } from './commands/index.js';
import { runCli } from './program.js';

export const done: Promise<void> = runCli(commandModules);
