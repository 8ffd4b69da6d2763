/**
 * @module cli/showcmd-main
 * The entry point bin/cvmctl runs for `cvmctl showcmd …`: the same program as cli/main with
 * only the showcmd command, so its bundle holds the config parser, host profiles and the
 * generator but not the API server and client, access control, agent, measurement …
 * (a quarter of the code to compile at start-up). Output, errors and exit codes are those of
 * the full CLI: both run cli/program with the same showcmd module. `done` settles when the
 * command has finished (the build's code-cache training runs the bundle several times in one
 * process and waits for each run, see bin/code-cache.js).
 */

import * as showcmd from './commands/showcmd.js';
import { runCli } from './program.js';

export const done: Promise<void> = runCli([showcmd]);
