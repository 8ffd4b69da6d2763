/**
 * @module ui/app
 * The shell: login page until there is a session, then a header (node, user, logout) and the
 * page named by the URL hash (`#/` overview, `#/vm/<vmid>` a VM). An ended session shows the
 * login dialog over the current page; the calls that met the 401 continue after the new login.
 */

import { useEffect, useState } from 'preact/hooks';
import { currentSession, logout, type Session, setExpiredHandler } from './api';
import { LoginForm, ReloginDialog } from './login';
import { Overview } from './overview';
import { VmPage } from './vm-page';
import { Wizard } from './wizard';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

export function App() {
  const [session, setSession] = useState<Session | null>(currentSession());
  const [relogin, setRelogin] = useState<{ resolve: () => void } | null>(null);
  const hash = useHash();

  useEffect(() => {
    setExpiredHandler(
      () =>
        new Promise<void>((resolve) => {
          setRelogin({ resolve });
        }),
    );
  }, []);

  if (!session) {
    return (
      <main class="login-page">
        <LoginForm onLogin={setSession} />
      </main>
    );
  }

  const vmMatch = /^#\/vm\/(\d+)/.exec(hash);
  const creating = hash.startsWith('#/create');
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          cvmctl
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={vmMatch || creating ? undefined : 'page'}>
            Overview
          </a>
          <a href="#/create" aria-current={creating ? 'page' : undefined}>
            Create VM
          </a>
        </nav>
        <span class="spacer" />
        <span class="who">{session.username}</span>
        <button
          type="button"
          onClick={() => {
            logout();
            setSession(null);
          }}
        >
          Log out
        </button>
      </header>
      <main id="content">{vmMatch ? <VmPage key={vmMatch[1]} vmid={vmMatch[1] as string} /> : creating ? <Wizard /> : <Overview />}</main>
      {relogin && (
        <ReloginDialog
          user={session.username}
          onLogin={(s) => {
            setSession(s);
            relogin.resolve();
            setRelogin(null);
          }}
        />
      )}
    </>
  );
}
