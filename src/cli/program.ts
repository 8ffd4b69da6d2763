/**
 * @module cli/program
 * Builds the commander program from command modules, runs it, and turns any error into one
 * line on stderr plus the exit code chosen by `errors.ts`. Command modules only register
 * options and lazily import their handlers, so start-up stays cheap. Two entry points use it:
 * `cli/main` (every command) and `cli/showcmd-main` (only `showcmd`, see bin/cvmctl).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { CommandModule } from './commands/types.js';
import { reportError } from './report.js';

/** Commands whose options are generated from the config schema only when the command runs. */
const GENERATED_OPTION_COMMANDS = new Set(['create', 'set']);

/** The package version, read only when asked for (dist/cli/main.js → ../../package.json). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `help create` would show the command before its generated --<key> options exist: ask `create --help`. */
function helpForGeneratedOptions(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('-')) i += argv[i] === '--root' ? 2 : 1;
  const target = argv[i + 1];
  if (argv[i] !== 'help' || target === undefined || !GENERATED_OPTION_COMMANDS.has(target)) return argv;
  return [...argv.slice(0, i), target, '--help', ...argv.slice(i + 2)];
}

/** Build the program from `modules`, run it on `argvIn`, and return the exit code. */
export async function runProgram(argvIn: string[], modules: readonly CommandModule[]): Promise<number> {
  const argv = helpForGeneratedOptions(argvIn);
  const program = new Command('cvmctl')
    .description('Confidential VMs on QEMU/KVM: qemu-server compatible configs, command lines, launch and attestation')
    .option('--root <dir>', 'state root (default: $CVMCTL_ROOT, /var/lib/cvmctl as root, ~/.local/share/cvmctl otherwise)')
    .option('-V, --version', 'print the cvmctl version')
    .showHelpAfterError(false)
    .exitOverride();
  program.on('option:version', () => {
    process.stdout.write(`cvmctl ${version()}\n`);
    process.exit(0);
  });
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    // commander's usage errors may add a second line ("(Did you mean --json?)"): keep one line
    outputError: (s, write) =>
      write(
        `${s
          .trim()
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .join(' ')}\n`,
      ),
  });
  for (const mod of modules) mod.register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

/** Run the CLI with `modules` on this process's arguments and set its exit code. */
export function runCli(modules: readonly CommandModule[]): Promise<void> {
  return runProgram(process.argv.slice(2), modules).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.exitCode = reportError(err);
    },
  );
}
