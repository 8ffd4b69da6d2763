/**
 * @module cli/output
 * Shared output helpers for command modules: results go to stdout (JSON for scripts or
 * qm-style `key: value` lines), warnings to stderr as `WARN: <msg>`. Kept free of heavy
 * imports so every command can use it at start-up.
 */

/** Pretty-printed JSON plus newline on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface KeyValueOptions {
  /** Keys not to print (e.g. `digest`). */
  skip?: readonly string[];
  /** Rewrites a value before printing (e.g. escaping a multi-line description). */
  format?: (key: string, value: string) => string;
}

/** `key: value` lines for the keys in byte-wise sorted order, like `qm config`. */
export function printKeyValues(values: Readonly<Record<string, string | number>>, opts: KeyValueOptions = {}): void {
  const skip = new Set(opts.skip ?? []);
  let out = '';
  for (const key of Object.keys(values).sort()) {
    if (skip.has(key)) continue;
    const value = String(values[key]);
    out += `${key}: ${opts.format ? opts.format(key, value) : value}\n`;
  }
  process.stdout.write(out);
}

/** One warning line on stderr. */
export function printWarning(msg: string): void {
  process.stderr.write(`WARN: ${msg.replace(/\n+$/, '').replace(/\n/g, ' - ')}\n`);
}

/** One informational line on stdout (what qm prints while it works). */
export function printInfo(msg: string): void {
  process.stdout.write(`${msg}\n`);
}
