// The shell: restores or starts a session, then shows the header, the
// navigation and the page the URL's hash names.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, get, setCsrf, setUnauthorizedHandler, type AccountInfo, type Session } from './api';
import { useI18n, type Lang, type MsgKey } from './i18n';
import { formatCreditsString } from './money';
import { href, navigate, useRoute } from './router';
import { SessionContext, type SessionCtx } from './session';
import { OverviewPage } from './pages/Overview';
import { CallsPage } from './pages/Calls';
import { ProvidersPage } from './pages/Providers';
import { RatesPage } from './pages/Rates';
import { KeysPage } from './pages/Keys';
import { AccountsPage } from './pages/Accounts';
import { PluginsPage } from './pages/Plugins';
import { PlaygroundPage } from './pages/Playground';
import { ErrorBox, useAction } from './components/ui';
import logo from './logo.svg';

interface NavItem {
  id: string;
  label: MsgKey;
  admin: boolean;
}

const NAV: NavItem[] = [
  { id: 'overview', label: 'navOverview', admin: false },
  { id: 'calls', label: 'navCalls', admin: false },
  { id: 'providers', label: 'navProviders', admin: true },
  { id: 'rates', label: 'navRates', admin: true },
  { id: 'keys', label: 'navKeys', admin: false },
  { id: 'accounts', label: 'navAccounts', admin: true },
  { id: 'plugins', label: 'navPlugins', admin: true },
  { id: 'playground', label: 'navPlayground', admin: false },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrf('');
      setSession(null);
      setExpired(true);
    });
    get<Session>('/api/session', { quiet401: true }).then(
      (s) => {
        setCsrf(s.csrf);
        setSession(s);
      },
      () => setSession(null),
    );
    return () => setUnauthorizedHandler(null);
  }, []);

  if (session === undefined) return <div className="splash" />;
  if (session === null)
    return (
      <SignIn
        expired={expired}
        onSignedIn={(s) => {
          setCsrf(s.csrf);
          setExpired(false);
          setSession(s);
        }}
      />
    );
  return (
    <Shell
      session={session}
      onSignedOut={() => {
        setCsrf('');
        setSession(null);
      }}
    />
  );
}

function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang">
      <span className="sr-only">{t('language')}</span>
      <select aria-label={t('language')} data-testid="lang" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
        <option value="en">English</option>
        <option value="zh">简体中文</option>
      </select>
    </label>
  );
}

function SignIn({ onSignedIn, expired }: { onSignedIn: (s: Session) => void; expired: boolean }) {
  const { t } = useI18n();
  const [key, setKey] = useState('');
  const { busy, error, submit: onSubmit } = useAction();
  const submit = onSubmit(async () => {
    const s = await api<Session>('POST', '/api/session', { key: key.trim() }, { quiet401: true });
    setKey('');
    onSignedIn(s);
  });
  return (
    <div className="signin-page">
      <div className="signin-top"><LangSwitch /></div>
      <form className="signin card" onSubmit={submit} data-testid="signin">
        <div className="brand brand-large"><img src={logo} alt="" width={36} height={36} /> {t('appName')}</div>
        <h1>{t('signInTitle')}</h1>
        <p className="muted">{t('signInHelp')}</p>
        {expired ? <div className="alert alert-info">{t('sessionExpired')}</div> : null}
        <label className="field">
          <span className="field-label">{t('apiKey')}</span>
          <input type="password" name="key" autoComplete="off" spellCheck={false} placeholder="sk-hub-…" value={key} onChange={(e) => setKey(e.target.value)} required autoFocus />
        </label>
        <ErrorBox error={error} />
        <button className="btn btn-primary btn-block" type="submit" disabled={busy || !key.trim()}>{busy ? t('signingIn') : t('signIn')}</button>
        <p className="fine">{t('signInNote')}</p>
      </form>
    </div>
  );
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const { t } = useI18n();
  const route = useRoute();
  const isAdmin = session.role === 'admin';
  const items = NAV.filter((n) => isAdmin || !n.admin);
  const page = route.parts[0] ?? 'overview';
  const [menuOpen, setMenuOpen] = useState(false);
  const [balance, setBalance] = useState<string | null>(null);

  const refreshBalance = useCallback(() => {
    get<AccountInfo>('/api/account').then((a) => setBalance(a.balance_credits), () => setBalance(null));
  }, []);
  useEffect(refreshBalance, [refreshBalance]);
  useEffect(() => setMenuOpen(false), [page]);
  useEffect(() => {
    if (!items.some((n) => n.id === page)) navigate(href(['overview']));
  }, [page, items]);

  const ctx = useMemo<SessionCtx>(() => ({ session, isAdmin, refreshBalance }), [session, isAdmin, refreshBalance]);
  const signOut = async () => {
    try {
      await api('DELETE', '/api/session');
    } catch {
      /* the session is gone either way */
    }
    onSignedOut();
  };

  let body;
  switch (page) {
    case 'calls': body = <CallsPage route={route} />; break;
    case 'providers': body = <ProvidersPage />; break;
    case 'rates': body = <RatesPage />; break;
    case 'keys': body = <KeysPage />; break;
    case 'accounts': body = <AccountsPage route={route} />; break;
    case 'plugins': body = <PluginsPage />; break;
    case 'playground': body = <PlaygroundPage />; break;
    default: body = <OverviewPage />;
  }

  return (
    <SessionContext.Provider value={ctx}>
      <div className={'shell' + (menuOpen ? ' menu-open' : '')}>
        <header className="topbar">
          <button type="button" className="menu-btn" aria-label={t('menu')} aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
            <span /><span /><span />
          </button>
          <a className="brand" href={href(['overview'])}><img src={logo} alt="" width={26} height={26} /> <span>{t('appName')}</span></a>
          <div className="topbar-right">
            {balance !== null ? (
              <span className="balance" data-testid="balance" title={t('balance')}>
                <span className="muted">{t('balance')}</span> <strong>{formatCreditsString(balance)}</strong>
              </span>
            ) : null}
            <span className="who" title={`${session.account_name} · ${session.key_prefix}`}>
              <span className={'role role-' + session.role}>{session.role === 'admin' ? t('roleAdmin') : t('roleUser')}</span>
              <span className="who-name">{session.account_name}</span>
            </span>
            <LangSwitch />
            <button type="button" className="btn btn-ghost" onClick={signOut} data-testid="signout">{t('signOut')}</button>
          </div>
        </header>
        <aside className="sidebar">
          <nav className="sidenav" aria-label={t('menu')}>
            {items.map((n) => (
              <a key={n.id} href={href([n.id])} className={page === n.id ? 'active' : undefined} data-nav={n.id}>
                {t(n.label)}
              </a>
            ))}
            <div className="sidenav-foot muted">
              <div>{session.account_name}</div>
              <div className="mono">{session.key_prefix}…</div>
            </div>
          </nav>
        </aside>
        <div className="scrim" onClick={() => setMenuOpen(false)} />
        <main className="content">{body}</main>
      </div>
    </SessionContext.Provider>
  );
}
