/**
 * @module test/api/core
 * The server core against a real HTTPS server: PVE's envelope, reason phrases, parameter
 * decoding rules (unknown parameters, strict booleans, body on GET, body limit, query over
 * body, `_dc`, path/body conflicts, malformed bodies, percent-decoding), 501 for unknown paths
 * and methods, the plain-HTTP redirect, 401 answers with empty bodies, and the request log.
 */

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMachineHelp } from '../../src/api/routes/capabilities.js';
import { QEMU_BINARY } from '../integration/helpers.js';
import { dataOf, NODE, ROOT_PASSWORD, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('envelope and routing', () => {
  it('answers GET /version with data and PVE-compatible version', async () => {
    const r = await t.call('GET', '/version');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    const data = r.body?.data as Record<string, string>;
    expect(Number(data.version?.split('.')[0])).toBeGreaterThanOrEqual(8);
    expect(data.release).toBe(data.version?.split('.').slice(0, 2).join('.'));
    expect(Object.keys(r.body ?? {})).toEqual(['data']);
  });

  it('lists this node only', async () => {
    const r = await t.call('GET', '/nodes');
    const nodes = r.body?.data as Record<string, unknown>[];
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ node: NODE, status: 'online', type: 'node', id: `node/${NODE}` });
    expect(nodes[0]?.ssl_fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(typeof nodes[0]?.maxcpu).toBe('number');
  });

  it('unknown path and unknown method get 501 with PVE text in the reason phrase', async () => {
    const r = await t.call('GET', '/foo/bar');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'GET /foo/bar' not implemented");
    expect(r.body).toEqual({ data: null, message: "Method 'GET /foo/bar' not implemented\n" });
    const m = await t.call('PUT', '/version');
    expect(m.status).toBe(501);
    expect(m.reason).toBe("Method 'PUT /version' not implemented");
  });

  it('the reason phrase is printable ASCII; the body keeps the real text', async () => {
    const r = await t.call('GET', '/api2/json/%C3%BCber');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'GET /?ber' not implemented");
    expect(r.body?.message).toBe("Method 'GET /über' not implemented\n");
  });

  it('needs the json format under /api2', async () => {
    expect((await t.call('GET', '/api2/xml/version')).status).toBe(501);
    // outside /api2 and not a file of the web UI
    const r = await t.call('GET', '/missing.html', { rawPath: true });
    expect(r.status).toBe(501);
    expect(r.reason).toBe('no such uri');
  });

  it('empty path segments are ignored and the path is percent-decoded', async () => {
    expect((await t.call('GET', '/api2/json//version/')).status).toBe(200);
    expect((await t.call('GET', '/api2/json/%76ersion')).status).toBe(200);
  });

  it('another node name is refused', async () => {
    const r = await t.call('GET', '/nodes/othernode/qemu');
    expect(r.status).toBe(500);
    expect(r.reason).toBe("no such cluster node 'othernode'");
    const bad = await t.call('GET', '/nodes/bad_node!/qemu');
    expect(bad.status).toBe(400);
    expect(bad.body?.errors?.node).toMatch(/node name/);
  });
});

describe('small endpoints', () => {
  it('pools: an empty list, and no pool by name', async () => {
    expect((await t.call('GET', '/pools')).body).toEqual({ data: [] });
    expect((await t.call('GET', '/pools', { query: { poolid: 'prod' } })).body).toEqual({ data: [] });
    const one = await t.call('GET', '/pools/prod');
    expect([one.status, one.reason]).toEqual([500, "pool 'prod' does not exist"]);
    const put = await t.call('PUT', '/pools', { form: { poolid: 'prod', vms: '100' } });
    expect([put.status, put.reason]).toEqual([500, "pool 'prod' does not exist"]);
    expect((await t.call('GET', '/pools', { query: { poolid: 'bad pool!' } })).status).toBe(400);
  });

  it('node status and cluster status describe this one node', async () => {
    const st = dataOf<{ memory: { total: number; used: number }; cpuinfo: { cpus: number }; loadavg: string[]; uptime: number }>(
      await t.call('GET', `/nodes/${NODE}/status`),
    );
    const os = await import('node:os');
    expect(st.memory.total).toBe(os.totalmem());
    expect(st.cpuinfo.cpus).toBe(os.cpus().length);
    expect(st.loadavg).toHaveLength(3);
    expect(dataOf(await t.call('GET', '/cluster/status'))).toEqual([
      expect.objectContaining({ type: 'node', name: NODE, online: 1, local: 1 }),
    ]);
  });

  it('indexes and realms', async () => {
    expect((await t.call('GET', '/access/domains', { anonymous: true })).body?.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ realm: 'pam' }), expect.objectContaining({ realm: 'pve' })]),
    );
    expect(dataOf<{ name: string }[]>(await t.call('GET', `/nodes/${NODE}`)).map((e) => e.name)).toContain('qemu');
    expect(dataOf<{ name: string }[]>(await t.call('GET', '/cluster')).map((e) => e.name)).toEqual(['nextid', 'resources', 'status', 'tasks']);
    expect(dataOf<{ name: string }[]>(await t.call('GET', `/nodes/${NODE}/capabilities/qemu`)).map((e) => e.name)).toContain('cvm');
  });
});

describe('capabilities/qemu/machines', () => {
  it("parses QEMU's -machine help: versioned q35 and i440fx types, newest first", () => {
    const help = [
      'Supported machines are:',
      'microvm              microvm (i386)',
      'pc-i440fx-9.2        Standard PC (i440FX + PIIX, 1996)',
      'pc-i440fx-10.0       Standard PC (i440FX + PIIX, 1996) (default)',
      'pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-10.0)',
      'pc-q35-10.0          Standard PC (Q35 + ICH9, 2009)',
      'pc-q35-9.2           Standard PC (Q35 + ICH9, 2009)',
      'q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-10.0)',
    ].join('\n');
    expect(parseMachineHelp(help)).toEqual([
      { id: 'pc-q35-10.0', type: 'q35', version: '10.0' },
      { id: 'pc-i440fx-10.0', type: 'i440fx', version: '10.0' },
      { id: 'pc-q35-9.2', type: 'q35', version: '9.2' },
      { id: 'pc-i440fx-9.2', type: 'i440fx', version: '9.2' },
    ]);
  });

  it.skipIf(!QEMU_BINARY)("lists this node's QEMU machine types", async () => {
    const list = dataOf<{ id: string; type: string; version: string }[]>(await t.call('GET', `/nodes/${NODE}/capabilities/qemu/machines`));
    expect(list.length).toBeGreaterThan(2);
    expect(list[0]?.id).toMatch(/^pc-(q35|i440fx)-\d+\.\d+$/);
    expect(list.some((m) => m.type === 'q35')).toBe(true);
  });
});

describe('parameters', () => {
  it('unknown parameters are 400 with the schema text', async () => {
    const r = await t.call('GET', '/cluster/nextid', { query: { foo: '1' } });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    expect(r.body).toEqual({
      data: null,
      message: 'Parameter verification failed.\n',
      errors: { foo: 'property is not defined in schema and the schema does not allow additional properties' },
    });
  });

  it('the ExtJS cache buster _dc is dropped', async () => {
    expect((await t.call('GET', '/cluster/nextid', { query: { _dc: '12345' } })).status).toBe(200);
  });

  it('booleans are 1/0 (or JSON true/false) only', async () => {
    const bad = await t.call('GET', `/nodes/${NODE}/qemu`, { query: { full: 'True' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.errors).toEqual({ full: "type check ('boolean') failed - got 'True'" });
    expect((await t.call('GET', `/nodes/${NODE}/qemu`, { query: { full: '1' } })).status).toBe(200);
  });

  it('a body on GET is 501', async () => {
    const r = await t.call('GET', '/version', { raw: { type: 'application/x-www-form-urlencoded', body: 'a=1' } });
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Unexpected content for method 'GET'");
  });

  it('a body over 512 KiB is refused', async () => {
    const r = await t.call('POST', '/access/ticket', {
      anonymous: true,
      raw: { type: 'application/x-www-form-urlencoded', body: `username=${'a'.repeat(512 * 1024)}&password=x` },
    });
    expect(r.status).toBe(501);
    expect(r.reason).toBe('for data too large');
  });

  it('query parameters override body parameters', async () => {
    const r = await t.call('POST', '/access/ticket', {
      anonymous: true,
      form: { username: 'root@pam', password: 'wrong' },
      query: { password: ROOT_PASSWORD },
    });
    expect(r.status).toBe(200);
    expect(dataOf<{ username: string }>(r).username).toBe('root@pam');
  });

  it('JSON bodies are accepted, malformed ones refused', async () => {
    const ok = await t.call('POST', '/access/ticket', { anonymous: true, json: { username: 'root@pam', password: ROOT_PASSWORD } });
    expect(ok.status).toBe(200);
    const bad = await t.call('POST', '/access/ticket', { anonymous: true, raw: { type: 'application/json', body: '{"username":' } });
    expect(bad.status).toBe(400);
    expect(bad.reason).toMatch(/^malformed JSON body/);
    const arr = await t.call('POST', '/access/ticket', { anonymous: true, raw: { type: 'application/json', body: '[1]' } });
    expect(arr.status).toBe(400);
  });

  it('other content types get 506', async () => {
    const r = await t.call('POST', '/access/ticket', { anonymous: true, raw: { type: 'text/plain', body: 'x' } });
    expect(r.status).toBe(506);
  });

  it('a path parameter repeated in the body with another value is 400', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { form: { node: 'other', vmid: '100' } });
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ node: 'duplicate parameter (already defined in URI) with conflicting values!' });
  });

  it('__proto__ is an unknown parameter, not a prototype', async () => {
    const r = await t.call('POST', '/access/ticket', {
      anonymous: true,
      raw: { type: 'application/json', body: '{"__proto__":{"x":1},"username":"a","password":"b"}' },
    });
    expect(r.status).toBe(400);
  });

  it('missing required parameters are named', async () => {
    const r = await t.call('POST', '/access/ticket', { anonymous: true, form: { username: 'root@pam' } });
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ password: 'property is missing and it is not optional' });
  });
});

describe('authentication', () => {
  it('no credentials: 401 No ticket, empty body', async () => {
    const r = await t.call('GET', '/version', { anonymous: true });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('No ticket');
    expect(r.text).toBe('');
  });

  it('a bad ticket: 401 Authentication failed!', async () => {
    const r = await t.call('GET', '/version', { as: { ticket: 'PVE:root@pam:00000000::bogus' } });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('Authentication failed!');
    expect(r.text).toBe('');
  });

  it('a ticket without CSRF token on POST: 401 invalid csrf token', async () => {
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, { as: { ticket: t.root_.ticket }, form: { vmid: '100' } });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('Permission denied - invalid csrf token');
  });

  it('login failure is 401 authentication failure with a JSON body', async () => {
    const r = await t.call('POST', '/access/ticket', { anonymous: true, form: { username: 'root@pam', password: 'nope' } });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('authentication failure');
    expect(r.body).toEqual({ data: null, message: 'authentication failure\n' });
  });

  it('GET /access/ticket is public and returns null', async () => {
    const r = await t.call('GET', '/access/ticket', { anonymous: true });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: null });
  });

  it('API tokens work without CSRF', async () => {
    const r = await t.call('GET', `/nodes/${NODE}/qemu`, { as: { token: t.rootToken } });
    expect(r.status).toBe(200);
    const bad = await t.call('GET', `/nodes/${NODE}/qemu`, { as: { token: 'root@pam!ci=wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.reason).toBe('Authentication failed!');
  });
});

describe('transport', () => {
  it('plain HTTP on the TLS port is redirected to https', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(t.port, '127.0.0.1', () => s.write('GET /api2/json/version HTTP/1.1\r\nHost: example:8006\r\n\r\n'));
      let text = '';
      s.on('data', (d) => {
        text += d.toString();
      });
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 301 /);
    expect(answer).toMatch(/\r\nLocation: https:\/\/example:8006\/api2\/json\/version\r\n/i);
  });

  it('logs one line per request with method, path, status, time and user', async () => {
    await t.call('GET', '/version');
    const line = t.logs.filter((l) => l.includes(' GET /api2/json/version 200 ')).pop();
    expect(line).toMatch(/ root@pam GET \/api2\/json\/version 200 \d+\.\dms$/);
  });
});
