import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from './etcd-harness.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function put(url: string, key: string, value: string): Promise<Response> {
  return fetch(`${url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }), signal: AbortSignal.timeout(5000) });
}

async function get(url: string, key: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(key) }) });
  const body = (await res.json()) as { kvs?: { value?: string }[] };
  const v = body.kvs?.[0]?.value;
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
}

describe('3-member etcd harness', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('replicates a write to every member', async () => {
    expect((await put(etcd.endpoint(0), 'k', 'v1')).ok).toBe(true);
    for (const url of etcd.endpoints) expect(await get(url, 'k')).toBe('v1');
  });

  it('keeps working with one member killed, and the member catches up after restart', { timeout: 90_000 }, async () => {
    await etcd.kill(2);
    // if the killed member led, a write waits for the re-election (a proposal may time out meanwhile): retry like a client
    const written = async () => (await put(etcd.endpoint(1), 'k', 'v2').catch(() => undefined))?.ok === true;
    await expect.poll(written, { timeout: 30_000, interval: 200 }).toBe(true);
    etcd.restart(2);
    await etcd.waitHealthy(30_000);
    await expect.poll(() => get(etcd.endpoint(2), 'k'), { timeout: 20_000, interval: 100 }).toBe('v2');
  });
});
