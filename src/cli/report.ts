/**
 * @module cli/report
 * The single place where errors become user output: one line on stderr (the message with
 * line breaks folded), never a stack trace, and the exit code from `errors.ts`.
 * Set CVMCTL_DEBUG=1 to see the stack of an unexpected error.
 */

import { CommanderError } from 'commander';
import { CvmError, exitCodeFor } from '../errors.js';

/** Fold a multi-line qemu-server message ("format error\nkey: msg") into one line. */
export function oneLine(message: string): string {
  return message
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' - ');
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version output exit 0; commander already printed usage problems
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
    return 2;
  }
  if (err instanceof CvmError) {
    process.stderr.write(`${oneLine(err.message)}\n`);
    return exitCodeFor(err);
  }
  const message = err instanceof Error ? err.message : String(err);
  const sysCode = (err as NodeJS.ErrnoException | undefined)?.code;
  // a file-system failure (ENOTDIR, EACCES, ENOSPC …) is the host's problem, not a bug: say what failed
  if (err instanceof Error && typeof sysCode === 'string' && /^E[A-Z0-9]+$/.test(sysCode)) {
    process.stderr.write(`${oneLine(message)}\n`);
    return 1;
  }
  process.stderr.write(`internal error: ${oneLine(message)}\n`);
  if (process.env.CVMCTL_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 1;
}
