/**
 * @module conformance/diff
 * A small unified diff (LCS based, 3 lines of context) for comparing expected and generated
 * command lines line by line; enough for the few hundred lines a command line has.
 */

type Op = [' ' | '-' | '+', string];

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  // dp[i * w + j]: length of the LCS of a[i..] and b[j..]
  const dp = new Int32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] =
        a[i] === b[j] ? (dp[(i + 1) * w + j + 1] as number) + 1 : Math.max(dp[(i + 1) * w + j] as number, dp[i * w + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push([' ', a[i] as string]);
      i++;
      j++;
    } else if ((dp[(i + 1) * w + j] as number) >= (dp[i * w + j + 1] as number)) {
      ops.push(['-', a[i++] as string]);
    } else {
      ops.push(['+', b[j++] as string]);
    }
  }
  while (i < n) ops.push(['-', a[i++] as string]);
  while (j < m) ops.push(['+', b[j++] as string]);
  return ops;
}

/** Unified diff of two line lists ('' when equal). */
export function unifiedDiff(expected: string[], actual: string[], labels: [string, string], context = 3): string {
  const ops = lcsOps(expected, actual);
  if (ops.every(([t]) => t === ' ')) return '';
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  const changed = ops.map(([t]) => t !== ' ');
  let k = 0;
  while (k < ops.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    while (end < ops.length) {
      if (changed[end]) {
        end++;
        continue;
      }
      let next = end;
      while (next < ops.length && !changed[next] && next - end < 2 * context) next++;
      if (next < ops.length && changed[next]) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    let aLine = 1;
    let bLine = 1;
    for (const [t] of ops.slice(0, start)) {
      if (t !== '+') aLine++;
      if (t !== '-') bLine++;
    }
    const hunk = ops.slice(start, stop);
    const aCount = hunk.filter(([t]) => t !== '+').length;
    const bCount = hunk.filter(([t]) => t !== '-').length;
    out.push(`@@ -${aLine},${aCount} +${bLine},${bCount} @@`);
    for (const [t, line] of hunk) out.push(`${t}${line}`);
    k = stop;
    start = stop;
  }
  return out.join('\n');
}
