/**
 * @module cli/main
 * The `cvmctl` entry point: builds the commander program from the command modules,
 * runs it, and turns any error into one line on stderr plus the exit code chosen by
 * `errors.ts`. Command modules only register options and lazily import their handlers,
 * so start-up stays cheap (target: cold `cvmctl config` under 150 ms).
 */

import { Command } from 'commander';
import { commandModules } from './commands/index.js';
import { reportError } from './report.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('cvmctl')
    .description('Confidential VMs on QEMU/KVM: qemu-server compatible configs, command lines, launch and attestation')
    .option('--root <dir>', 'state root (default: $CVMCTL_ROOT, /var/lib/cvmctl as root, ~/.local/share/cvmctl otherwise)')
    .showHelpAfterError(false)
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const mod of commandModules) mod.register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
