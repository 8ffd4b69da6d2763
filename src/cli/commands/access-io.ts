/**
 * @module cli/commands/access-io
 * Terminal input and output of the access commands. Passwords are read like pveum's
 * `read_password`: on a terminal in raw mode without echo (Enter ends, Backspace erases, Ctrl-C
 * aborts), asked twice when setting one; otherwise exactly one line is read from stdin, so
 * `printf '%s\n' "$PW" | cvmctl passwd root@pam` works in scripts and the password never appears
 * in argv. Lists print as aligned text tables with PVE's column names.
 */

import { CvmError } from '../../errors.js';

/** One line from a non-terminal stdin, without its newline; EOF before any byte is an error. */
export function readStdinLine(input: NodeJS.ReadStream = process.stdin): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (err?: CvmError): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      input.unref?.();
      if (err) {
        reject(err);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.indexOf('\n');
      resolve(nl >= 0 ? text.slice(0, nl) : text);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      length += buf.length;
      if (buf.includes(0x0a)) finish();
      else if (length > 64 * 1024) finish(new CvmError('PARAM_INVALID', 'password: input line too long (allowed: 8 to 64 characters)'));
    };
    const onEnd = (): void => finish(length === 0 ? new CvmError('USAGE', 'EOF while reading password') : undefined);
    const onError = (err: Error): void => finish(new CvmError('IO', `unable to read password - ${err.message}`, { cause: err }));
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

/** One password typed on the terminal, without echo. */
function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let password = '';
    // raw (no echo) before the prompt shows, so nothing typed after it is echoed
    input.setRawMode(true);
    output.write(prompt);
    const done = (err?: CvmError): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(password);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        const code = ch.codePointAt(0) ?? 0;
        if (code === 0x0a || code === 0x0d || code === 0x04) {
          done();
          return;
        }
        if (code === 0x03) {
          done(new CvmError('USAGE', 'password input aborted'));
          return;
        }
        if (code === 0x7f || code === 0x08) password = [...password].slice(0, -1).join('');
        else if (code >= 0x20) password += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

/**
 * A new password: asked twice on a terminal (`passwords do not match` if they differ), else one
 * line from stdin.
 */
export async function readNewPassword(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) return readStdinLine(input);
  const first = await readHidden('Enter new password: ', input, output);
  const second = await readHidden('Retype new password: ', input, output);
  if (first !== second) throw new CvmError('USAGE', 'passwords do not match');
  return first;
}

/** An aligned text table with the keys as headers; missing values print empty. */
export function formatTable(rows: readonly object[], columns: readonly string[]): string {
  const cells = rows.map((row) => columns.map((key) => String((row as Record<string, unknown>)[key] ?? '')));
  const widths = columns.map((header, i) => Math.max(header.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return `${[line(columns), ...cells.map(line)].join('\n')}\n`;
}
