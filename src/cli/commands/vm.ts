/**
 * @module cli/commands/vm
 * Placeholder: registers nothing yet. Replaced by the owning work package.
 */
import type { Command } from 'commander';

export function register(_program: Command): void {}
