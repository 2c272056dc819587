// The Sluice Console: sign-in, navigation (hash routes) and the pages.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, getToken, setToken, type WhoAmI } from './api';
import { ErrorLine } from './components';
import { href, session, type Session } from './nav';
import { AuditPage } from './pages/audit';
import { JobPage } from './pages/job';
import { LivePage } from './pages/live';
import { OverviewPage } from './pages/overview';
import { QueuePage } from './pages/queue';
import { SearchPage } from './pages/search';
import { TimeTravelPage } from './pages/time-travel';
import './style.css';

/** The current hash route split into parts (decoded). */
function useRoute(): string[] {
  const parse = (): string[] =>
    location.hash
      .replace(/^#\/?/, '')
      .split('?')[0]!
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = (): void => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setToken(token.trim());
    try {
      onSignedIn(session(await api<WhoAmI>('GET', '/v1/whoami')));
    } catch (err) {
      setToken(null);
      setError(err);
    }
  };
  return (
    <main class="signin">
      <h1>Sluice Console</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setValue(e.currentTarget.value)} />
        <p class="hint">The token stays in this tab (sessionStorage) and is sent as a bearer token to this server only.</p>
        <button type="submit">Sign in</button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

const TABS: [string, string][] = [
  ['', 'Jobs'],
  ['live', 'Live'],
  ['search', 'Search'],
  ['time-travel', 'Time travel'],
  ['audit', 'Audit'],
];

function App() {
  const [current, setCurrent] = useState<Session | null>(null);
  const [checking, setChecking] = useState(getToken() !== null);
  const route = useRoute();
  useEffect(() => {
    if (!getToken()) return;
    api<WhoAmI>('GET', '/v1/whoami')
      .then((who) => setCurrent(session(who)))
      .catch(() => setToken(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="loading">Loading…</p>;
  if (!current) return <SignIn onSignedIn={setCurrent} />;

  const [head, queue, page, id] = route;
  const inQueue = head === 'q' && queue !== undefined;
  let body;
  if (!inQueue) body = <OverviewPage session={current} />;
  else if (page === 'job' && id !== undefined) body = <JobPage session={current} queue={queue} id={id} />;
  else if (page === 'live') body = <LivePage queue={queue} />;
  else if (page === 'search') body = <SearchPage queue={queue} />;
  else if (page === 'time-travel') body = <TimeTravelPage queue={queue} />;
  else if (page === 'audit') body = <AuditPage session={current} queue={queue} />;
  else body = <QueuePage session={current} queue={queue} />;

  return (
    <>
      <header>
        <a class="brand" href="#/">
          Sluice
        </a>
        {inQueue ? (
          <nav aria-label="Queue pages">
            <span class="qname">{queue}</span>
            {TABS.map(([p, label]) => (
              <a href={p === '' ? href('q', queue) : href('q', queue, p)} aria-current={(page ?? '') === p ? 'page' : undefined}>
                {label}
              </a>
            ))}
          </nav>
        ) : (
          <nav aria-label="Main">
            <a href="#/" aria-current="page">
              Queues
            </a>
          </nav>
        )}
        <span class="who" title={current.who.scopes.join(', ')}>
          {current.who.name} ({current.can('admin') ? 'admin' : current.who.scopes.join(', ')})
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            setToken(null);
            setCurrent(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
