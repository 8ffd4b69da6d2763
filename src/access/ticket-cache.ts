/**
 * @module access/ticket-cache
 * Tickets already verified, so a client sending the same cookie on every request costs a map
 * lookup instead of an HMAC and three regular expressions. Entries are kept per signing key
 * (the key's Buffer: a new or rotated key file is a new Buffer, so its tickets start from an
 * empty table and the old key's table goes with the old Buffer), hold the userid and the
 * ticket's time, and the validity window is checked again on every hit with the caller's
 * clock, so expiry stays exact to the second. Only tickets that verified are remembered (a
 * flood of forged cookies cannot fill the table), at most `MAX_TICKETS` per key, oldest
 * first out.
 */

import { ticketAgeOk, verifyTicket } from './tickets.js';

/** Distinct valid tickets remembered per key: far more than the sessions of one host's admins. */
export const MAX_TICKETS = 4096;

interface Verified {
  userid: string;
  /** The ticket's own time (seconds since the epoch). */
  time: number;
}

export class VerifiedTickets {
  private readonly byKey = new WeakMap<Buffer, Map<string, Verified>>();

  constructor(private readonly max = MAX_TICKETS) {}

  /** The userid of a ticket valid under `key` at `now`, else undefined (as `verifyTicket`). */
  userOf(key: Buffer, ticket: string, now: number): string | undefined {
    let table = this.byKey.get(key);
    const hit = table?.get(ticket);
    if (hit) return ticketAgeOk(now - hit.time) ? hit.userid : undefined;
    const verified = verifyTicket(key, ticket, now);
    if (!verified) return undefined;
    if (!table) {
      table = new Map();
      this.byKey.set(key, table);
    }
    if (table.size >= this.max) table.delete(table.keys().next().value as string);
    table.set(ticket, { userid: verified.userid, time: now - verified.age });
    return verified.userid;
  }
}
