/**
 * @module cli/commands/types
 * The contract of a command module: it registers its subcommands on the program and
 * imports its real work lazily inside the action.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}
