/**
 * @module cli/commands
 * Every command module of the CLI, in help order. Each module owns one domain's commands.
 */
import type { CommandModule } from './types.js';
import * as vm from './vm.js';
import * as showcmd from './showcmd.js';
import * as lifecycle from './lifecycle.js';
import * as policy from './policy.js';
import * as host from './host.js';
import * as lint from './lint.js';
import * as measure from './measure.js';
import * as attest from './attest.js';
import * as access from './access.js';
import * as agent from './agent.js';
import * as serve from './serve.js';
import * as snapshot from './snapshot.js';
import * as disk from './disk.js';
import * as cloudinit from './cloudinit.js';
import * as cluster from './cluster.js';
import * as migrate from './migrate.js';

export const commandModules: CommandModule[] = [vm, showcmd, lifecycle, agent, snapshot, disk, cloudinit, policy, host, lint, measure, attest, serve, access, cluster, migrate];
