/**
 * @module ui/api
 * The browser side of the REST API: `/api2/json` on the same origin, the ticket in the
 * `PVEAuthCookie` cookie and the CSRF token in a header on every write, as PVE's GUI does. A 401
 * on a call means the session ended: the call waits until the user has logged in again (the
 * app shows the login dialog over the page, so nothing typed is lost) and is then sent again.
 */

export interface Session {
  username: string;
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Per-parameter messages of a 400 answer (`errors` in PVE's envelope). */
    readonly errors: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STORE_KEY = 'cvmctl.session';
let session: Session | null = readStoredSession();
let relogin: Promise<void> | null = null;
let onExpired: (() => Promise<void>) | null = null;

function readStoredSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null') as Session | null;
    return s && typeof s.username === 'string' && typeof s.csrf === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

/** The app's handler for an ended session: resolves once the user has logged in again. */
export function setExpiredHandler(handler: () => Promise<void>): void {
  onExpired = handler;
}

function setCookie(ticket: string | null): void {
  const value = ticket === null ? '; max-age=0' : encodeURIComponent(ticket);
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing in Firefox ESR; the value is URI-encoded
  document.cookie = `PVEAuthCookie=${value}; path=/; SameSite=Strict; Secure`;
}

export async function login(username: string, password: string): Promise<Session> {
  const answer = (await send('POST', '/access/ticket', { username, password }, false)) as {
    ticket: string;
    CSRFPreventionToken: string;
    username: string;
  };
  setCookie(answer.ticket);
  session = { username: answer.username, csrf: answer.CSRFPreventionToken };
  localStorage.setItem(STORE_KEY, JSON.stringify(session));
  return session;
}

export function logout(): void {
  setCookie(null);
  session = null;
  localStorage.removeItem(STORE_KEY);
}

async function send(method: string, path: string, params: Record<string, string | number> | undefined, retry: boolean): Promise<unknown> {
  const form = params ? new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])) : undefined;
  const headers: Record<string, string> = {};
  let url = `/api2/json${path}`;
  let body: string | undefined;
  if (form && (method === 'GET' || method === 'DELETE')) {
    if (form.size > 0) url += `?${form}`;
  } else if (form) {
    body = form.toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (method !== 'GET' && session) headers.CSRFPreventionToken = session.csrf;
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body } : {}) });
  if (res.status === 401 && retry && onExpired) {
    relogin ??= onExpired().finally(() => {
      relogin = null;
    });
    await relogin;
    return send(method, path, params, false);
  }
  const text = await res.text();
  let json: { data?: unknown; message?: string; errors?: Record<string, string> } = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    // a body that is not JSON: the status line says what went wrong
  }
  if (!res.ok) {
    const message = (json.message ?? res.statusText ?? `HTTP ${res.status}`).trim() || `HTTP ${res.status}`;
    throw new ApiError(message, res.status, json.errors ?? {});
  }
  return json.data;
}

export const api = {
  get: <T>(path: string, params?: Record<string, string | number>) => send('GET', path, params, true) as Promise<T>,
  post: <T>(path: string, params?: Record<string, string | number>) => send('POST', path, params, true) as Promise<T>,
  put: <T>(path: string, params?: Record<string, string | number>) => send('PUT', path, params, true) as Promise<T>,
  del: <T>(path: string, params?: Record<string, string | number>) => send('DELETE', path, params, true) as Promise<T>,
};
