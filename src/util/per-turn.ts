/**
 * @module util/per-turn
 * One synchronous look-up (a file's `lstat`) shared by every caller of one event-loop turn, and
 * never made before a caller asked: `perTurn(look)` gives a function whose calls are answered
 * together at the turn's check phase (`setImmediate`), one `look(key)` per distinct key, made
 * after all of that turn's calls. So a change completed before a call is always seen by that
 * call (the freshness of a look-up per call), while the requests a server reads from its
 * sockets in one poll phase share one look-up per file instead of one each.
 */

interface Waiter<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function waiter<T>(): Waiter<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** `look`, batched per event-loop turn (see the module comment); a throwing look rejects that key's callers. */
export function perTurn<T>(look: (key: string) => T): (key: string) => Promise<T> {
  let batch: Map<string, Waiter<T>> | undefined;
  const answer = () => {
    const current = batch as Map<string, Waiter<T>>;
    batch = undefined;
    for (const [key, w] of current) {
      try {
        w.resolve(look(key));
      } catch (err) {
        w.reject(err);
      }
    }
  };
  return (key) => {
    if (!batch) {
      batch = new Map();
      setImmediate(answer);
    }
    let w = batch.get(key);
    if (!w) {
      w = waiter<T>();
      batch.set(key, w);
    }
    return w.promise;
  };
}
