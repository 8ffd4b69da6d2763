/**
 * @module qemu/args
 * QEMU arguments as data and their one renderer. The generator returns a flat `string[]`
 * argv (binary first); this module turns it into what `qm showcmd` prints: each argument
 * shell-quoted separately with String::ShellQuote 1.04's rules, joined by spaces, and for
 * `--pretty` every ` -` broken onto its own line. Execution never goes through a shell:
 * the same argv array is handed to `spawn` as is.
 */

/**
 * Arguments String::ShellQuote leaves bare: only safe characters, and no `=` (which it
 * quotes even though `=` alone is harmless) — one test instead of two on the hot path.
 */
const BARE = /^[A-Za-z0-9_!%+,\-./:@^]+$/;

/**
 * Quote one argument exactly like String::ShellQuote::shell_quote (1.04):
 * quoted iff empty, or it contains `=`, or any character outside the safe set.
 */
export function shellQuote(arg: string): string {
  // NUL bytes cannot pass through a shell; ShellQuote strips them first.
  const value = arg.includes('\0') ? arg.replace(/\0/g, '') : arg;
  if (value === '') return "''";
  if (BARE.test(value)) return value;
  // Most quoted arguments (options, JSON) hold no single quote: wrapping is all that is left.
  if (!value.includes("'")) return `'${value}'`;
  // Same order as ShellQuote: escape quotes, collapse runs, wrap, trim empty edge quotes.
  let body = value.replace(/'/g, "'\\''");
  body = body.replace(/(?:'\\''){2,}/g, (run) => `'"${"'".repeat(run.length / 4)}"'`);
  const quoted = `'${body}'`.replace(/^''/, '').replace(/''$/, '');
  return quoted;
}

/** One line: `qm showcmd` without --pretty. */
export function renderCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** `qm showcmd --pretty`: every ` -` becomes ` \`, newline, two spaces, `-`; trailing newline. */
export function renderPretty(argv: readonly string[]): string {
  return `${renderCommand(argv).replace(/ -/g, ' \\\n  -')}\n`;
}

/**
 * Compare two rendered command lines the way qemu-server's cfg2cmd harness does:
 * split on `/\s*\\?\n\s*\/` so line-break whitespace and trailing backslashes do not matter.
 */
export function commandLines(rendered: string): string[] {
  return rendered.split(/\s*\\?\n\s*/).filter((line, i, all) => !(line === '' && i === all.length - 1));
}
