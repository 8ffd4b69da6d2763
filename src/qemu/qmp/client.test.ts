import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, QmpError } from './client.js';
import { LineDecoder } from './framing.js';
import { qmpTimeoutFor } from './timeouts.js';

type Handler = (cmd: { execute: string; id?: string; arguments?: unknown }, sock: Socket, log: string[]) => void;

const GREETING = { QMP: { version: { qemu: { major: 10, minor: 0, micro: 2 }, package: 'fake' }, capabilities: ['oob'] } };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A fake QMP server: greets, answers qmp_capabilities, hands every other command to `handler`. */
async function fakeQmp(handler: Handler): Promise<{ path: string; server: Server; log: string[]; sockets: Socket[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'qmp-test-'));
  const path = join(dir, 'fake.qmp');
  const log: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.write(`${JSON.stringify(GREETING)}\r\n`);
    const dec = new LineDecoder();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const msg of dec.push(chunk).messages) {
        const cmd = msg as { execute: string; id?: string };
        log.push(cmd.execute);
        if (cmd.execute === 'qmp_capabilities') sock.write(`${JSON.stringify({ return: {}, id: cmd.id })}\r\n`);
        else handler(cmd, sock, log);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, server, log, sockets };
}

const errCode = (e: unknown): string => (e as { code: string }).code;
const reply = (sock: Socket, id: string | undefined, value: unknown) => sock.write(`${JSON.stringify({ return: value, id })}\r\n`);

describe('QmpClient', () => {
  it('reads the greeting, negotiates capabilities and returns command results', async () => {
    const srv = await fakeQmp((cmd, sock) => reply(sock, cmd.id, { running: true, status: 'running' }));
    const c = await QmpClient.connect(srv.path);
    expect(c.greeting?.version.qemu).toEqual({ major: 10, minor: 0, micro: 2 });
    expect(await c.execute('query-status')).toEqual({ running: true, status: 'running' });
    expect(srv.log).toEqual(['qmp_capabilities', 'query-status']);
    await c.close();
    expect(c.isClosed).toBe(true);
  });

  it('keeps one command in flight and answers each caller in order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const srv = await fakeQmp((cmd, sock) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        reply(sock, cmd.id, { name: cmd.execute });
      }, 5);
    });
    const c = await QmpClient.connect(srv.path);
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((n) => c.execute(`cmd-${n}`)));
    expect(results).toEqual([{ name: 'cmd-a' }, { name: 'cmd-b' }, { name: 'cmd-c' }, { name: 'cmd-d' }]);
    expect(maxInFlight).toBe(1);
    c.destroy();
  });

  it('ignores replies whose id is not the one in flight', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      reply(sock, 'someone-else', { wrong: true });
      reply(sock, cmd.id, { right: true });
    });
    const c = await QmpClient.connect(srv.path);
    expect(await c.execute('query-version')).toEqual({ right: true });
    c.destroy();
  });

  it('maps an error reply to QMP_ERROR with class and desc', async () => {
    const srv = await fakeQmp((cmd, sock) =>
      sock.write(`${JSON.stringify({ error: { class: 'CommandNotFound', desc: 'The command nope has not been found' }, id: cmd.id })}\n`),
    );
    const c = await QmpClient.connect(srv.path);
    const err = await c.execute('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).code).toBe('QMP_ERROR');
    expect((err as QmpError).errorClass).toBe('CommandNotFound');
    expect((err as QmpError).message).toBe("QMP command 'nope' failed - The command nope has not been found");
    c.destroy();
  });

  it('times out a command, drops its late reply and goes on with the next', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      if (cmd.execute === 'slow') setTimeout(() => reply(sock, cmd.id, { late: true }), 150);
      else setTimeout(() => reply(sock, cmd.id, { fast: true }), 200);
    });
    const c = await QmpClient.connect(srv.path, { timeouts: { slow: 50 } });
    const t0 = Date.now();
    const err = await c.execute('slow').catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('QMP_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(140);
    // the late {late:true} reply arrives while 'fast' is in flight and must not be taken for its answer
    expect(await c.execute('fast')).toEqual({ fast: true });
    c.destroy();
  });

  it('emits asynchronous events', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      sock.write(`${JSON.stringify({ event: 'POWERDOWN', timestamp: { seconds: 1, microseconds: 2 } })}\n`);
      reply(sock, cmd.id, {});
    });
    const c = await QmpClient.connect(srv.path);
    const events: string[] = [];
    c.on('event', (e: { event: string }) => events.push(e.event));
    await c.execute('system_powerdown');
    expect(events).toEqual(['POWERDOWN']);
    c.destroy();
  });

  it('fails the in-flight and queued commands with QMP_DISCONNECTED when the peer goes away', async () => {
    const srv = await fakeQmp((_cmd, sock) => setTimeout(() => sock.destroy(), 10));
    const c = await QmpClient.connect(srv.path);
    const [a, b] = await Promise.all([c.execute('query-status').catch(errCode), c.execute('query-sev').catch(errCode)]);
    expect(a).toBe('QMP_DISCONNECTED');
    expect(b).toBe('QMP_DISCONNECTED');
    const after = await c.execute('query-status').catch(errCode);
    expect(after).toBe('QMP_DISCONNECTED');
  });

  it('treats a close right after quit as success', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      if (cmd.execute === 'quit') sock.destroy();
    });
    const c = await QmpClient.connect(srv.path);
    await expect(c.execute('quit')).resolves.toEqual({});
  });

  it('reports a missing socket as QMP_DISCONNECTED', async () => {
    const err = await QmpClient.connect('/nonexistent/dir/x.qmp').catch(errCode);
    expect(err).toBe('QMP_DISCONNECTED');
  });
});

describe('qmpTimeoutFor', () => {
  it('follows the QMPClient.pm table', () => {
    expect(qmpTimeoutFor('query-status')).toBe(5000);
    expect(qmpTimeoutFor('quit')).toBe(60000);
    expect(qmpTimeoutFor('device_add')).toBe(60000);
    expect(qmpTimeoutFor('object-del')).toBe(60000);
    expect(qmpTimeoutFor('eject')).toBe(60000);
    expect(qmpTimeoutFor('block-stream')).toBe(600000);
    expect(qmpTimeoutFor('query-migrate')).toBe(3600000);
    expect(qmpTimeoutFor('query-status', { 'query-status': 10 })).toBe(10);
    expect(qmpTimeoutFor('query-sev', {}, 1234)).toBe(1234);
  });
});

describe('LineDecoder', () => {
  it('reassembles messages split across chunks and reports invalid lines', () => {
    const d = new LineDecoder();
    expect(d.push('{"a":').messages).toEqual([]);
    const r = d.push('1}\r\nnot json\n{"b":2}\n{"c"');
    expect(r.messages).toEqual([{ a: 1 }, { b: 2 }]);
    expect(r.invalid).toEqual(['not json']);
    expect(d.rest).toBe('{"c"');
  });
});

describe('perCommandQmp', () => {
  it('connects for each command and leaves the monitor free in between; refusals read as mon_cmd', async () => {
    const srv = await fakeQmp((cmd, sock) => {
      if (cmd.execute === 'job-complete') {
        sock.write(`${JSON.stringify({ error: { class: 'GenericError', desc: "Job 'mirror-scsi0' not found" }, id: cmd.id })}\r\n`);
      } else reply(sock, cmd.id, []);
    });
    const { perCommandQmp } = await import('./per-command.js');
    const qmp = perCommandQmp(srv.path, { peer: 'VM 100' });
    expect(await qmp.execute('query-block-jobs')).toEqual([]);
    await expect(qmp.execute('job-complete', { id: 'mirror-scsi0' })).rejects.toMatchObject({
      code: 'QMP_ERROR',
      message: "VM 100 qmp command 'job-complete' failed - Job 'mirror-scsi0' not found",
    });
    expect(srv.log).toEqual(['qmp_capabilities', 'query-block-jobs', 'qmp_capabilities', 'job-complete']);
    expect(srv.sockets).toHaveLength(2);
    // both sessions were closed by the client
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.sockets.every((s) => s.destroyed || s.readableEnded)).toBe(true);
    // without a peer name the client's own error comes through
    await expect(perCommandQmp(srv.path).execute('job-complete')).rejects.toBeInstanceOf(QmpError);
  });
});
