/**
 * @module lint/types
 * A lint finding: a stable code, a severity, the config key it is about and a message that
 * says what happens and what to change.
 */
import type { HostFacts } from '../host/facts.js';

export type FindingSeverity = 'info' | 'warning' | 'error';

export interface Finding {
  code: string;
  severity: FindingSeverity;
  key: string;
  message: string;
}

/** The host facts lint can use; a full HostFacts fits. */
export type LintHost = Partial<Pick<HostFacts, 'hwCapabilities' | 'firmware' | 'arch'>>;

const RANK: Record<FindingSeverity, number> = { info: 0, warning: 1, error: 2 };

export function atLeast(f: Finding, min: FindingSeverity): boolean {
  return RANK[f.severity] >= RANK[min];
}
