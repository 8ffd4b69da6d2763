/**
 * @module util/per-turn.test
 * The per-turn look-up: every call of one event-loop turn is answered by one look per key,
 * made after the last of those calls (so a change made right after asking is seen), a new
 * turn looks again, and a throwing look rejects that key's callers only.
 */
import { describe, expect, it } from 'vitest';
import { perTurn } from './per-turn.js';

describe('perTurn', () => {
  it('answers all calls of a turn with one look per key, made after every call', async () => {
    const looks: string[] = [];
    let state = 'old';
    const look = perTurn((key) => {
      looks.push(key);
      return `${key}:${state}`;
    });
    const calls = [look('a'), look('b'), look('a'), look('a')];
    state = 'new'; // a change after the calls, before the turn ends
    expect(await Promise.all(calls)).toEqual(['a:new', 'b:new', 'a:new', 'a:new']);
    expect(looks).toEqual(['a', 'b']);
    state = 'newer';
    expect(await look('a')).toBe('a:newer');
    expect(looks).toEqual(['a', 'b', 'a']);
  });

  it('rejects the callers of a key whose look throws, and answers the others', async () => {
    const look = perTurn((key) => {
      if (key === 'bad') throw new Error(`cannot look at ${key}`);
      return key.length;
    });
    const [good, bad] = await Promise.allSettled([look('good'), look('bad')]);
    expect(good).toEqual({ status: 'fulfilled', value: 4 });
    expect(bad).toMatchObject({ status: 'rejected', reason: new Error('cannot look at bad') });
    await expect(look('bad')).rejects.toThrow('cannot look at bad');
  });

  it('looks again for calls made while a turn’s answers are being handled', async () => {
    let n = 0;
    const look = perTurn(() => ++n);
    const second = look('k').then(() => look('k'));
    expect(await second).toBe(2);
  });
});
