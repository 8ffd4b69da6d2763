import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSyncedReply, qgaCommand } from './client.js';

const frame = (...parts: (string | number)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p, 'utf8'))));

describe('parseSyncedReply', () => {
  it('waits for both lines after the last 0xFF and skips what came before', () => {
    expect(parseSyncedReply(frame('{"return": 1}\n'), 7)).toBeUndefined();
    expect(parseSyncedReply(frame(0xff, '{"return": 7}\n'), 7)).toBeUndefined();
    expect(parseSyncedReply(frame(0xff, '{"return": 7}\n{"return": {"a": "ü"'), 7)).toBeUndefined();
    // a late answer to an earlier, timed-out command precedes the delimiter
    const buf = frame('{"return": {}}\n', 0xff, '{"return": 7}\n{"return": {"a": "ü"}}\n');
    expect(parseSyncedReply(buf, 7)).toEqual({ ok: true, value: { a: 'ü' } });
    expect(parseSyncedReply(frame(0xff, '{"return": 7}\r\n{"error": {"class": "GenericError", "desc": "boom"}}\r\n'), 7)).toEqual({
      ok: false,
      errorClass: 'GenericError',
      desc: 'boom',
    });
    expect(() => parseSyncedReply(frame(0xff, '{"return": 8}\n{"return": {}}\n'), 7)).toThrow("got wrong command id '8' (expected 7)");
  });
});

describe('qgaCommand', () => {
  it("times out with qemu-server's text when nobody answers, and reports a missing socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvmctl-qga-unit-'));
    const path = join(dir, 'silent.qga');
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(path, r));
    try {
      await expect(qgaCommand(path, 100, 'guest-info', undefined, { timeoutMs: 200 })).rejects.toThrow(
        "VM 100 qga command 'guest-info' failed - got timeout",
      );
      await expect(qgaCommand(join(dir, 'none'), 100, 'guest-ping')).rejects.toThrow(
        "VM 100 qga command 'guest-ping' failed - unable to open monitor socket",
      );
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
