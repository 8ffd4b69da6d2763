/**
 * @module qemu/qmp/framing
 * QMP speaks one JSON object per line (`\r\n` from QEMU, `\n` accepted). This turns a byte
 * stream into parsed messages and keeps any partial line for the next chunk; a line that is
 * not JSON is reported instead of tearing down the session, so one garbled message does not
 * lose the replies behind it.
 */

export type QmpMessage = Record<string, unknown>;

export class LineDecoder {
  private pending = '';

  /** Feed a chunk; returns the complete messages it finished (and parse failures). */
  push(chunk: string): { messages: QmpMessage[]; invalid: string[] } {
    this.pending += chunk;
    const messages: QmpMessage[] = [];
    const invalid: string[] = [];
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line !== '') {
        try {
          const value: unknown = JSON.parse(line);
          if (value && typeof value === 'object' && !Array.isArray(value)) messages.push(value as QmpMessage);
          else invalid.push(line);
        } catch {
          invalid.push(line);
        }
      }
      nl = this.pending.indexOf('\n');
    }
    return { messages, invalid };
  }

  /** Bytes received after the last newline (a cut-off message at disconnect). */
  get rest(): string {
    return this.pending;
  }
}

/** One command as it goes over the wire. */
export function encodeCommand(execute: string, id: string, args?: Record<string, unknown>): string {
  const msg: Record<string, unknown> = { execute };
  if (args && Object.keys(args).length > 0) msg.arguments = args;
  msg.id = id;
  return `${JSON.stringify(msg)}\n`;
}
