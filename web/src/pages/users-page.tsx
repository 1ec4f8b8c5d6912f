import { useState } from 'react';
import { api, ApiError, type Session } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Card, ErrorNote, Loading, Status } from '../ui.tsx';

interface ConsoleUser { id: string; username: string; displayName: string; identityKey: string | null; roles: string[]; status: 'active' | 'disabled'; lastSignInAt: string | null }

const GRANTED = ['admin', 'security', 'hr'] as const;

/** Asks for the admin's password again when a change needs a recent sign-in; the new session replaces the old one. */
function SignInAgain({ username, onSession }: { username: string; onSession: (s: Session) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error | null>(null);
  return (
    <form className="note note-warn stack" aria-label="Sign in again" onSubmit={async (e) => {
      e.preventDefault();
      try { onSession(await api<Session>('POST', '/api/auth/sign-in', { username, password })); } catch (err) { setError(err as Error); }
    }}>
      <b>Administering users needs a recent sign-in. Enter your password again, then repeat the change.</b>
      <label>Your password<input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
      <ErrorNote error={error} />
      <div className="actions"><button type="submit" className="primary">Sign in again</button></div>
    </form>
  );
}

export function UsersPage({ session, onSession }: { session: Session; onSession: (s: Session) => void }) {
  const list = useApi<{ items: ConsoleUser[] }>('/api/users');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<{ username: string; oneTimePassword: string } | null>(null);
  const [links, setLinks] = useState<Record<string, string>>({});
  const [form, setForm] = useState({ username: '', displayName: '', password: '', identityKey: '', roles: [] as string[] });
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try { await fn(); list.reload(); } catch (e) { setError(e as ApiError); } finally { setBusy(false); }
  };
  const toggle = (roles: readonly string[], role: string) => (roles.includes(role) ? roles.filter((r) => r !== role) : [...roles, role]);
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading />;
  return (
    <div className="stack">
      {error?.details?.signInAgain ? <SignInAgain username={session.user.username} onSession={(s) => { setError(null); onSession(s); }} /> : <ErrorNote error={error} />}
      {issued && (
        <div className="note note-warn" role="status">
          One-time password for <b>{issued.username}</b>: <code>{issued.oneTimePassword}</code> — shown once; they must choose a new one when they sign in.
        </div>
      )}
      <Card title="Console users">
        <div className="table-wrap">
          <table>
            <thead><tr><th>User</th><th>Identity</th><th>Roles</th><th>Status</th><th>Last sign-in</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((u) => (
                <tr key={u.id}>
                  <td>{u.displayName}<br /><small>{u.username}</small></td>
                  <td>
                    {u.identityKey && <a href={`#/people/${encodeURIComponent(u.identityKey)}`}>{u.identityKey}</a>}
                    {u.username !== session.user.username && (
                      <form className="link-identity" onSubmit={(e) => {
                        e.preventDefault();
                        const key = links[u.id]?.trim() ?? '';
                        void act(async () => { await api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, { identityKey: key === '' ? null : key }); setLinks({ ...links, [u.id]: '' }); });
                      }}>
                        <input aria-label={`Identity key for ${u.username}`} placeholder={u.identityKey ? 'another key, or empty' : 'identity key'} value={links[u.id] ?? ''} onChange={(e) => setLinks({ ...links, [u.id]: e.target.value })} />
                        <button type="submit" disabled={busy || (!u.identityKey && !(links[u.id] ?? '').trim())}>{(links[u.id] ?? '').trim() ? 'Link' : u.identityKey ? 'Unlink' : 'Link'}</button>
                      </form>
                    )}
                  </td>
                  <td>
                    <fieldset className="checks" aria-label={`Roles of ${u.username}`}>
                      {GRANTED.map((r) => (
                        <label key={r}><input type="checkbox" checked={u.roles.includes(r)} disabled={busy} onChange={() => act(() => api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, { roles: toggle(u.roles, r) }))} /> {r}</label>
                      ))}
                    </fieldset>
                  </td>
                  <td><Status value={u.status} /></td>
                  <td>{u.lastSignInAt ? new Date(u.lastSignInAt).toLocaleString() : 'never'}</td>
                  <td>
                    <div className="actions">
                    <button type="button" disabled={busy} aria-label={`${u.status === 'active' ? 'Disable' : 'Enable'} ${u.username}`} onClick={() => act(() => api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, { status: u.status === 'active' ? 'disabled' : 'active' }))}>{u.status === 'active' ? 'Disable' : 'Enable'}</button>
                    <button type="button" disabled={busy} aria-label={`Reset password of ${u.username}`} onClick={() => act(async () => setIssued(await api<{ username: string; oneTimePassword: string }>('POST', `/api/users/${encodeURIComponent(u.id)}/password-reset`)))}>Reset password</button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <Card title="New user">
        <form className="stack" onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await api('POST', '/api/users', { username: form.username, password: form.password, roles: form.roles, ...(form.displayName ? { displayName: form.displayName } : {}), ...(form.identityKey ? { identityKey: form.identityKey } : {}) });
            setForm({ username: '', displayName: '', password: '', identityKey: '', roles: [] });
          });
        }}>
          <label>Username<input value={form.username} autoComplete="off" onChange={(e) => setForm({ ...form, username: e.target.value })} required minLength={2} /></label>
          <label>Display name<input value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} /></label>
          <label>Initial password<input type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required minLength={12} /></label>
          <label>Linked identity key<input value={form.identityKey} placeholder="none" onChange={(e) => setForm({ ...form, identityKey: e.target.value })} /></label>
          <fieldset className="checks"><legend>Roles</legend>
            {GRANTED.map((r) => <label key={r}><input type="checkbox" checked={form.roles.includes(r)} onChange={() => setForm({ ...form, roles: toggle(form.roles, r) })} /> {r}</label>)}
          </fieldset>
          <div className="actions"><button type="submit" className="primary" disabled={busy}>Create user</button></div>
        </form>
      </Card>
    </div>
  );
}

/** Shown instead of the console after an administrator reset the password: the user picks a new one first. */
export function ChangePasswordPage({ onDone }: { onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<Error | null>(null);
  return (
    <main className="sign-in">
      <form className="card stack" onSubmit={async (e) => {
        e.preventDefault();
        if (next !== again) return setError(new Error('the two new passwords differ'));
        try { await api('POST', '/api/me/password', { currentPassword: current, newPassword: next }); onDone(); } catch (err) { setError(err as Error); }
      }}>
        <h1>Choose a new password</h1>
        <p className="muted">Your password was reset by an administrator. Choose your own (at least 12 characters) to continue.</p>
        <label>One-time password<input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required /></label>
        <label>New password<input type="password" autoComplete="new-password" minLength={12} value={next} onChange={(e) => setNext(e.target.value)} required /></label>
        <label>New password again<input type="password" autoComplete="new-password" minLength={12} value={again} onChange={(e) => setAgain(e.target.value)} required /></label>
        <ErrorNote error={error} />
        <button type="submit" className="primary">Save and continue</button>
      </form>
    </main>
  );
}
