/**
 * @module ui/login
 * The login form (user, password, realm pam/pve), used as the first page and, when a session
 * ends, as a modal dialog over the page the user was on, so what they typed there stays.
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, login, type Session } from './api';

export function LoginForm(props: { onLogin: (s: Session) => void; user?: string; notice?: string }) {
  const at = props.user?.lastIndexOf('@') ?? -1;
  const [user, setUser] = useState(at > 0 ? (props.user as string).slice(0, at) : 'root');
  const [realm, setRealm] = useState(at > 0 ? (props.user as string).slice(at + 1) : 'pam');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);
  // after the dialog's own focus handling (showModal focuses its first field)
  useEffect(() => {
    setTimeout(() => passwordRef.current?.focus(), 0);
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      props.onLogin(await login(`${user}@${realm}`, password));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Login failed: wrong user name or password.' : `Login failed: ${(err as Error).message}`);
      setPassword('');
      passwordRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="login" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">cvmctl — log in</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <label for="login-user">User name</label>
      <input id="login-user" name="username" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
      <label for="login-password">Password</label>
      <input
        id="login-password"
        ref={passwordRef}
        type="password"
        name="password"
        autocomplete="current-password"
        required
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
      <label for="login-realm">Realm</label>
      <select id="login-realm" value={realm} onChange={(e) => setRealm(e.currentTarget.value)}>
        <option value="pam">Linux PAM standard authentication (pam)</option>
        <option value="pve">cvmctl authentication server (pve)</option>
      </select>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}

/** The login form in a modal dialog: the page below stays mounted with its state. */
export function ReloginDialog(props: { user: string; onLogin: (s: Session) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} class="relogin" aria-label="Session expired" onCancel={(e) => e.preventDefault()}>
      <LoginForm user={props.user} onLogin={props.onLogin} notice="Your session has expired. Log in again to continue; nothing you entered is lost." />
    </dialog>
  );
}
