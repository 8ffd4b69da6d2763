/**
 * @module host/local/usage
 * This host's load, memory and uptime as a node entry shows them (`GET /nodes`, and the numbers
 * a cluster member publishes with its registration, as pvestatd broadcasts them).
 */

import { availableParallelism, freemem, loadavg, totalmem, uptime } from 'node:os';

/** A node's load, memory and uptime as its node entry shows them (pvestatd broadcasts the same). */
export interface NodeUsage {
  /** Load average over the CPU count, at most 1. */
  cpu: number;
  maxcpu: number;
  /** Bytes. */
  mem: number;
  maxmem: number;
  /** Seconds. */
  uptime: number;
}

/** This host's numbers now. */
export function hostUsage(): NodeUsage {
  const maxcpu = availableParallelism();
  return {
    cpu: Math.min(1, (loadavg()[0] ?? 0) / maxcpu),
    maxcpu,
    mem: totalmem() - freemem(),
    maxmem: totalmem(),
    uptime: Math.floor(uptime()),
  };
}
