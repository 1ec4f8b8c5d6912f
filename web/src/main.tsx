import { StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, setCsrf, type ApiError, type Session } from './api-client.ts';
import { useHashRoute } from './use-api.ts';
import { ErrorNote, Loading } from './ui.tsx';
import { DashboardPage } from './pages/dashboard-page.tsx';
import { PeoplePage } from './pages/people-page.tsx';
import { IdentityPageView } from './pages/identity-page.tsx';
import { ApprovalsPage, ImportPage, PlansPage, SelfServicePage, TasksPage } from './pages/work-pages.tsx';
import { ChangePasswordPage, UsersPage } from './pages/users-page.tsx';
import { AuditPage, ExceptionsPage, FindingsPage, SystemsPage } from './pages/oversight-pages.tsx';
import { InboxPage, useInboxCounts } from './pages/inbox-page.tsx';
import { EvidencePage } from './pages/evidence-page.tsx';
import { AssetPage, EquipmentPage, MonthlyCheckCard, MyEquipmentPage } from './pages/equipment-pages.tsx';
import { EnrolPage, SecurityPage, signInWithPasskey, StepUpDialog, VerifyPage } from './pages/security-page.tsx';
import { ReviewCampaignsPage } from './pages/reviews-page.tsx';
import './styles.css';

const NAV: { path: string; label: string; roles: string[] | null }[] = [
  { path: 'dashboard', label: 'Dashboard', roles: ['admin', 'security', 'hr'] },
  { path: 'people', label: 'People', roles: null },
  { path: 'plans', label: 'Plans', roles: ['admin', 'security'] },
  { path: 'import', label: 'HR import', roles: ['admin', 'hr'] },
  { path: 'approvals', label: 'Approvals', roles: null },
  { path: 'reviews', label: 'Review campaigns', roles: ['admin', 'security'] },
  { path: 'tasks', label: 'Tasks', roles: null },
  { path: 'me', label: 'My access', roles: ['user'] },
  { path: 'my-equipment', label: 'My equipment', roles: ['user'] },
  { path: 'equipment', label: 'Equipment', roles: ['admin', 'security'] },
  { path: 'users', label: 'Users', roles: ['admin'] },
  { path: 'inbox', label: 'Inbox', roles: null },
  { path: 'systems', label: 'Systems', roles: ['admin', 'security'] },
  { path: 'findings', label: 'Findings', roles: ['admin', 'security'] },
  { path: 'exceptions', label: 'Exceptions', roles: ['admin', 'security'] },
  { path: 'audit', label: 'Audit', roles: ['admin', 'security'] },
  { path: 'evidence', label: 'Evidence', roles: ['admin', 'security'] },
  { path: 'security', label: 'Security', roles: null },
];

/** Why the provider's sign-in came back without a session (`?oidc=` from the callback). */
const OIDC_MESSAGES: Record<string, string> = {
  refused: 'Your organisation signed you in, but this account may not use jml: no active identity has your email address.',
  failed: 'The sign-in with your organisation did not complete. Start it again.',
};

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    api<{ enabled: boolean }>('GET', '/api/auth/oidc').then((r) => setOidc(r.enabled)).catch(() => setOidc(false));
  }, []);
  const oidcMessage = OIDC_MESSAGES[new URLSearchParams(window.location.search).get('oidc') ?? ''];
  const [busy, setBusy] = useState(false);
  return (
    <main className="sign-in">
      <form className="card stack" onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try { onSession(await api<Session>('POST', '/api/auth/sign-in', { username, password })); } catch (err) { setError(err as ApiError); } finally { setBusy(false); }
      }}>
        <h1 className="brand big"><span className="logo" aria-hidden="true" />jml</h1>
        <p className="muted">Joiners, movers, leavers — and who holds what.</p>
        <label>Username<input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
        <ErrorNote error={error ?? (oidcMessage ? new Error(oidcMessage) : null)} />
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <button type="button" disabled={busy} onClick={async () => {
          setBusy(true);
          setError(null);
          try { onSession(await signInWithPasskey()); } catch (err) { setError(err as ApiError); } finally { setBusy(false); }
        }}>Use a passkey</button>
        {oidc && <a className="button" href="/api/auth/oidc/start">Sign in with your organisation</a>}
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const route = useHashRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const inbox = useInboxCounts(session ? route.join('/') : null);
  useEffect(() => {
    api<Session>('GET', '/api/auth/session').then(accept).catch(() => setSession(null));
  }, []);
  function accept(s: Session) {
    setCsrf(s.csrfToken);
    setSession(s);
  }
  const routeKey = route.join('/');
  useEffect(() => setMenuOpen(false), [routeKey]);
  // After navigation, focus moves to the page (screen readers announce it; Tab continues from there, not from the old link).
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    mainRef.current?.focus();
  }, [routeKey]);
  if (session === undefined) return <Loading />;
  if (session === null) return <SignIn onSession={accept} />;
  const leave = () => void api('POST', '/api/auth/sign-out').catch(() => undefined).then(() => { setCsrf(null); setSession(null); });
  if (session.mfa.stage === 'enrol') return <EnrolPage onSession={accept} onSignOut={leave} />;
  if (session.mfa.stage === 'verify') return <VerifyPage onSession={accept} onSignOut={leave} />;
  if (session.mustChangePassword) return <ChangePasswordPage onDone={() => void api<Session>('GET', '/api/auth/session').then(accept)} />;
  const roles = new Set(session.user.roles);
  const nav = NAV.filter((n) => !n.roles || n.roles.some((r) => roles.has(r)));
  let [page, arg] = route;
  if (page === 'home') page = nav[0]?.path ?? 'people';
  const title = arg && page === 'people' ? null : (NAV.find((n) => n.path === page)?.label ?? 'jml');
  document.title = `${title ?? arg ?? 'jml'} · jml console`;
  const signOut = async () => {
    // Through the provider's end-session page when OIDC is on and this user came through it.
    const out = session.oidc ? await api<{ logoutUrl: string | null }>('POST', '/api/auth/oidc/sign-out').catch(() => null) : null;
    if (!out) await api('POST', '/api/auth/sign-out').catch(() => undefined);
    setCsrf(null);
    if (out?.logoutUrl) return window.location.assign(out.logoutUrl);
    setSession(null);
    window.location.hash = '';
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>Skip to content</a>
      <header className="topbar">
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}><span aria-hidden="true">☰</span><span className="sr-only">Menu</span></button>
        <a className="brand" href="#/" aria-label="jml home"><span className="logo" aria-hidden="true" />jml</a>
        <div className="who">
          <span>{session.user.displayName}</span>
          <small>{session.user.roles.filter((r) => r !== 'user').join(', ') || 'user'}</small>
          <button type="button" onClick={() => void signOut()}>Sign out</button>
        </div>
      </header>
      <nav id="nav" className={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Main">
        {nav.map((n) => {
          const waiting = n.path === 'inbox' ? (inbox ? inbox.approvals + inbox.reviews + inbox.tasks : 0) : n.path === 'approvals' ? (inbox?.approvals ?? 0) : n.path === 'tasks' ? (inbox?.tasks ?? 0) : 0;
          return <a key={n.path} href={`#/${n.path}`} aria-current={page === n.path || (page === 'people' && n.path === 'people') ? 'page' : undefined}>{n.label}{waiting > 0 ? <span className="count">{waiting}<span className="sr-only"> waiting</span></span> : null}</a>;
        })}
      </nav>
      <main className="content" id="main" ref={mainRef} tabIndex={-1}>
        {/* Every page has one level-one heading; the identity page shows the person's name as its own. */}
        {title && <h1 className="sr-only">{title}</h1>}
        {page === 'dashboard' && <DashboardPage governance={roles.has('admin') || roles.has('security')} />}
        {page === 'people' && (arg ? <IdentityPageView key={arg} identityKey={arg} /> : <PeoplePage />)}
        {page === 'plans' && <PlansPage planId={arg} />}
        {page === 'import' && <ImportPage />}
        {page === 'approvals' && <ApprovalsPage />}
        {page === 'reviews' && <ReviewCampaignsPage />}
        {page === 'tasks' && <TasksPage />}
        {page === 'me' && <SelfServicePage />}
        {page === 'users' && <UsersPage session={session} onSession={accept} />}
        {page === 'inbox' && <InboxPage />}
        {page === 'systems' && <SystemsPage canAct={roles.has('admin')} />}
        {page === 'findings' && <FindingsPage />}
        {page === 'exceptions' && <ExceptionsPage />}
        {page === 'audit' && <AuditPage subject={arg} />}
        {page === 'evidence' && <EvidencePage />}
        {page === 'my-equipment' && <div className="stack"><MyEquipmentPage /><MonthlyCheckCard /></div>}
        {page === 'equipment' && (arg ? <AssetPage key={arg} tag={arg} /> : <EquipmentPage />)}
        {page === 'security' && <SecurityPage session={session} />}
      </main>
      <StepUpDialog />
    </div>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
