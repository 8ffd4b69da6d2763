/**
 * The watch stream reader: lines come out whole however the text is chunked; messages in
 * etcd's JSON-gateway shape (as captured from etcd 3.4's `/v3/watch`) decode to the keys,
 * values and revisions that were encoded; arbitrary input never throws and anything malformed
 * is an `error` (the cache then reconnects instead of acting on it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter, parseWatchLine } from './watch-stream.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Cut `text` at the given (sorted, deduplicated) offsets. */
function cut(text: string, offsets: number[]): string[] {
  const at = [...new Set(offsets.map((o) => o % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const o of at) {
    out.push(text.slice(prev, o));
    prev = o;
  }
  out.push(text.slice(prev));
  return out;
}

describe('LineSplitter', () => {
  it('yields exactly the non-blank lines, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme' }).filter((l) => !l.includes('\n')),
          { maxLength: 8 },
        ),
        fc.array(fc.nat(), { maxLength: 12 }),
        (lines, offsets) => {
          const text = lines.map((l) => `${l}\n`).join('');
          const splitter = new LineSplitter();
          const got = cut(text, offsets).flatMap((chunk) => splitter.push(chunk));
          expect(got).toEqual(lines.filter((l) => l.trim() !== ''));
        },
      ),
    );
  });

  it('keeps an unfinished last line back until its newline arrives', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}')).toEqual([]);
    expect(s.push('\n')).toEqual(['{"b":2}']);
  });
});

describe('parseWatchLine', () => {
  it('reads the messages etcd 3.4 sends (created, put, delete, compacted)', () => {
    const header = '"header":{"cluster_id":"1484","member_id":"1027","revision":"4","raft_term":"2"}';
    expect(parseWatchLine(`{"result":{${header},"created":true}}`)).toEqual({ kind: 'events', created: true, events: [] });
    expect(
      parseWatchLine(
        `{"result":{${header},"events":[{"kv":{"key":"L3AvYQ==","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}}]}}`,
      ),
    ).toEqual({
      kind: 'events',
      created: false,
      events: [{ type: 'put', kv: { key: '/p/a', value: '1', createRevision: 2, modRevision: 2, lease: undefined } }],
    });
    expect(parseWatchLine(`{"result":{${header},"events":[{"type":"DELETE","kv":{"key":"L3AvYg==","mod_revision":"4"}}]}}`)).toEqual({
      kind: 'events',
      created: false,
      events: [{ type: 'delete', kv: { key: '/p/b', value: '', createRevision: 0, modRevision: 4, lease: undefined } }],
    });
    expect(parseWatchLine('{"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}}')).toEqual({
      kind: 'compacted',
      compactRevision: 4,
    });
    expect(parseWatchLine('{"result":{"canceled":true,"cancel_reason":"permission denied"}}')).toEqual({
      kind: 'canceled',
      reason: 'permission denied',
    });
    expect(parseWatchLine('{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}')).toEqual({
      kind: 'error',
      message: 'watch error - etcdserver: no leader',
    });
  });

  it('decodes any keys, values, revisions and leases it is given', () => {
    const ev = fc.record({
      del: fc.boolean(),
      key: fc.string({ unit: 'grapheme', minLength: 1 }),
      value: fc.string({ unit: 'grapheme' }),
      create: fc.nat(),
      mod: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      lease: fc.option(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 6 }), fc.boolean(), (events, created) => {
        const raw = events.map((e) =>
          e.del
            ? { type: 'DELETE', kv: { key: b64(e.key), mod_revision: String(e.mod) } }
            : {
                kv: {
                  key: b64(e.key),
                  value: b64(e.value),
                  create_revision: String(e.create),
                  mod_revision: String(e.mod),
                  ...(e.lease ? { lease: String(e.lease) } : {}),
                },
              },
        );
        const msg = parseWatchLine(JSON.stringify({ result: { header: { revision: '9' }, created, events: raw } }));
        expect(msg).toEqual({
          kind: 'events',
          created,
          events: events.map((e) =>
            e.del
              ? { type: 'delete', kv: { key: e.key, value: '', createRevision: 0, modRevision: e.mod, lease: undefined } }
              : {
                  type: 'put',
                  kv: {
                    key: e.key,
                    value: e.value,
                    createRevision: e.create,
                    modRevision: e.mod,
                    lease: e.lease ? String(e.lease) : undefined,
                  },
                },
          ),
        });
      }),
    );
  });

  it('never throws on arbitrary input, and calls anything malformed an error', () => {
    const json = fc.jsonValue().map((v) => JSON.stringify(v));
    const almost = fc
      .record({ result: fc.dictionary(fc.constantFrom('events', 'created', 'canceled', 'compact_revision', 'header'), fc.jsonValue()) })
      .map((v) => JSON.stringify(v));
    fc.assert(
      fc.property(fc.oneof(fc.string(), json, almost), (line) => {
        const msg = parseWatchLine(line);
        expect(['events', 'compacted', 'canceled', 'error']).toContain(msg.kind);
        if (msg.kind === 'events') for (const e of msg.events) expect(e.kv.modRevision).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
    for (const bad of [
      'null',
      '5',
      '[]',
      '{"result":null}',
      '{"result":{"events":{}}}',
      '{"result":{"events":[null]}}',
      '{"result":{"events":[{"kv":{"key":"!!"}}]}}',
    ]) {
      expect(parseWatchLine(bad).kind).toBe('error');
    }
    expect(parseWatchLine('{"result":{"events":[{"kv":{"key":"YQ==","mod_revision":"-1"}}]}}').kind).toBe('error');
  });
});
