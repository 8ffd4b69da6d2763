/**
 * @module api/static
 * The web UI's built files (dist/ui, made by `npm run build`) served at `/` by `cvmctl serve`,
 * on the same origin as `/api2/json` so the ticket cookie and CSRF header work as in PVE's GUI.
 * `index.html` is never cached (it names the current hashed bundles); files under `assets/`
 * carry a content hash in their name and are cached for a year. A `.br` or `.gz` twin written
 * at build time is sent when the browser accepts it, so nothing is compressed per request.
 * Paths are resolved inside the UI folder only; anything else is 404.
 */

import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Same-origin only; the API is fetched, the serial console is a WebSocket to this server. */
const CSP = "default-src 'self'; connect-src 'self' wss:; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** dist/ui next to the running code: dist/cli/main.js and dist/api/static.js both sit one folder below dist/. */
export function defaultUiRoot(): string {
  const here = import.meta.dirname;
  const candidates = [join(here, '..', 'ui'), join(here, '..', '..', 'dist', 'ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? (candidates[0] as string);
}

function encodings(req: IncomingMessage): { br: boolean; gzip: boolean } {
  const header = String(req.headers['accept-encoding'] ?? '');
  const accepts = (name: string) => new RegExp(`(^|,)\\s*${name}\\s*(;\\s*q=(?!0(\\.0*)?\\s*($|,))[0-9.]+)?\\s*($|,)`).test(header);
  return { br: accepts('br'), gzip: accepts('gzip') };
}

async function fileOf(path: string): Promise<Buffer | null> {
  try {
    return (await stat(path)).isFile() ? await readFile(path) : null;
  } catch {
    return null;
  }
}

/**
 * Answers a GET/HEAD for a UI path and returns true, or returns false when `path` is not the
 * UI's (the caller answers as before). Paths without a file extension are the app's own
 * routes and get index.html.
 */
export async function serveUi(req: IncomingMessage, res: ServerResponse, rawPath: string, uiRoot: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (rawPath.startsWith('/api2/')) return false;
  let rel: string;
  try {
    rel = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  if (rel.includes('\0')) return false;
  if (rel === '/' || extname(rel) === '') rel = '/index.html';
  const root = resolve(uiRoot);
  const file = resolve(root, `.${rel}`);
  if (!file.startsWith(root + sep)) return false;
  const type = TYPES[extname(file)];
  if (!type) return false;
  const want = encodings(req);
  let body: Buffer | null = null;
  let encoding: string | undefined;
  for (const [name, suffix] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    if (body || !want[name]) continue;
    body = await fileOf(`${file}${suffix}`);
    if (body) encoding = name;
  }
  body ??= await fileOf(file);
  if (!body) return false;
  res.statusCode = 200;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', body.length);
  res.setHeader('Vary', 'Accept-Encoding');
  if (encoding) res.setHeader('Content-Encoding', encoding);
  const hashed = rel.startsWith('/assets/');
  res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (type.startsWith('text/html')) {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
  }
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
