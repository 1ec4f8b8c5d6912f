/**
 * Sign-in methods: the second-factor step after the password, enrolment when
 * the policy requires a factor, the step-up dialog before sensitive actions,
 * and the "Security" page where a user manages their passkeys, authenticator
 * app and recovery codes (and an admin confirms pending sign-in resets).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { api, ApiError, setStepUpHandler, type Session } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Card, ErrorNote, Loading } from '../ui.tsx';
import '../security.css';

interface Passkey { id: string; name: string; createdAt: string; lastUsedAt: string | null; deviceType: string; backedUp: boolean }
interface MfaStatus { stage: 'enrol' | 'verify' | 'complete'; required: boolean; passkeys: Passkey[]; totp: boolean; recoveryCodesLeft: number; stepUpMinutes: number; available: { passkeys: boolean; totp: boolean } }
interface Challenge { challengeId: string; options: Record<string, unknown> }

/** Runs a WebAuthn ceremony for the signed-in user's own passkeys and sends the result; returns the session. */
async function proveWithPasskey(): Promise<Session> {
  const { challengeId, options } = await api<Challenge>('POST', '/api/auth/mfa/passkey/options');
  const response = await startAuthentication({ optionsJSON: options as never });
  return api<Session>('POST', '/api/auth/mfa/passkey', { challengeId, response });
}

/** Signs in with a passkey alone (it asks for the authenticator's PIN or biometric). */
export async function signInWithPasskey(): Promise<Session> {
  const { challengeId, options } = await api<Challenge>('POST', '/api/auth/passkey/options');
  const response = await startAuthentication({ optionsJSON: options as never });
  return api<Session>('POST', '/api/auth/passkey/sign-in', { challengeId, response });
}

/** The three ways to prove the second factor; `onDone` gets the updated session. */
function ProveFactor({ status, onDone, intro }: { status: MfaStatus; onDone: (s: Session) => void; intro: ReactNode }) {
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<Session>) => {
    setBusy(true);
    setError(null);
    try { onDone(await fn()); } catch (e) { setError(e as Error); } finally { setBusy(false); }
  };
  return (
    <div className="stack">
      {intro}
      {status.passkeys.length > 0 && status.available.passkeys && (
        <button type="button" className="primary" disabled={busy} onClick={() => void run(proveWithPasskey)}>Use a passkey</button>
      )}
      <form className="stack" onSubmit={(e) => {
        e.preventDefault();
        void run(() => api<Session>('POST', recovery ? '/api/auth/mfa/recovery-code' : '/api/auth/mfa/totp', { code }));
      }}>
        {recovery || status.totp ? (
          <label>{recovery ? 'Recovery code' : 'Code from your authenticator app'}
            <input name="code" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" inputMode={recovery ? 'text' : 'numeric'} required />
          </label>
        ) : null}
        {(recovery || status.totp) && <button type="submit" className={status.passkeys.length > 0 ? '' : 'primary'} disabled={busy}>Verify</button>}
      </form>
      {status.recoveryCodesLeft > 0 && (
        <button type="button" className="link-button" onClick={() => { setRecovery(!recovery); setCode(''); }}>{recovery ? 'Use my usual method' : 'Use a recovery code instead'}</button>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

/** After the password, for a user who has a second factor. */
export function VerifyPage({ onSession, onSignOut }: { onSession: (s: Session) => void; onSignOut: () => void }) {
  const status = useApi<MfaStatus>('/api/me/mfa');
  return (
    <main className="sign-in">
      <section className="card stack mfa-card" aria-labelledby="verify-title">
        <h1 id="verify-title">Confirm it’s you</h1>
        {status.error ? <ErrorNote error={status.error} /> : !status.data ? <Loading /> : (
          <ProveFactor status={status.data} onDone={onSession} intro={<p className="muted">Your password was right. Now use your second factor.</p>} />
        )}
        <button type="button" className="link-button" onClick={onSignOut}>Sign out</button>
      </section>
    </main>
  );
}

/** Ten codes, shown once, with the one thing to do about them. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone?: () => void }) {
  return (
    <div className="note note-warn stack" role="status">
      <b>Your recovery codes — shown once.</b>
      <span>Each signs you in once if you lose your passkey and phone. Keep them somewhere safe, away from this computer.</span>
      <ol className="codes" aria-label="Recovery codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ol>
      {onDone && <div className="actions"><button type="button" className="primary" onClick={onDone}>I have saved them — continue</button></div>}
    </div>
  );
}

/** Setting up an authenticator app: QR code and secret (once), then a code to confirm. */
function TotpSetup({ onEnrolled }: { onEnrolled: (codes: string[] | null) => void }) {
  const [setup, setSetup] = useState<{ secret: string; qrSvg: string } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<Error | null>(null);
  if (!setup) {
    return (
      <div className="stack">
        <button type="button" onClick={async () => { try { setSetup(await api('POST', '/api/me/totp')); } catch (e) { setError(e as Error); } }}>Set up an authenticator app</button>
        <ErrorNote error={error} />
      </div>
    );
  }
  return (
    <form className="stack" aria-label="Authenticator app set-up" onSubmit={async (e) => {
      e.preventDefault();
      try { onEnrolled((await api<{ recoveryCodes: string[] | null }>('POST', '/api/me/totp/confirm', { code })).recoveryCodes); } catch (err) { setError(err as Error); }
    }}>
      <p>Scan this code with your authenticator app, or type the key. It is shown only now.</p>
      <img className="qr" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}`} alt="QR code of the authenticator app key" width={200} height={200} />
      <p>Key: <code className="totp-secret">{setup.secret}</code></p>
      <label>Code shown by the app<input name="totp-code" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" inputMode="numeric" required /></label>
      <ErrorNote error={error} />
      <div className="actions"><button type="submit" className="primary">Confirm</button></div>
    </form>
  );
}

/** Registers a passkey under a name the user chooses. */
function AddPasskey({ onEnrolled }: { onEnrolled: (codes: string[] | null) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form className="stack" aria-label="Add a passkey" onSubmit={async (e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      try {
        const { challengeId, options } = await api<Challenge>('POST', '/api/me/passkeys/options');
        const response = await startRegistration({ optionsJSON: options as never });
        onEnrolled((await api<{ recoveryCodes: string[] | null }>('POST', '/api/me/passkeys', { challengeId, name: name || 'Passkey', response })).recoveryCodes);
        setName('');
      } catch (err) { setError(err as Error); } finally { setBusy(false); }
    }}>
      <label>Passkey name<input name="passkey-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. work laptop" /></label>
      <ErrorNote error={error} />
      <div className="actions"><button type="submit" className="primary" disabled={busy}>Add a passkey</button></div>
    </form>
  );
}

/** Required enrolment after the password: nothing else is possible until a factor is set up. */
export function EnrolPage({ onSession, onSignOut }: { onSession: (s: Session) => void; onSignOut: () => void }) {
  const status = useApi<MfaStatus>('/api/me/mfa');
  const [codes, setCodes] = useState<string[] | null>(null);
  const finish = () => void api<Session>('GET', '/api/auth/session').then(onSession);
  const enrolled = (issued: string[] | null) => (issued ? setCodes(issued) : finish());
  return (
    <main className="sign-in">
      <section className="card stack mfa-card" aria-labelledby="enrol-title">
        <h1 id="enrol-title">Set up a second factor</h1>
        {codes ? <RecoveryCodes codes={codes} onDone={finish} /> : status.error ? <ErrorNote error={status.error} /> : !status.data ? <Loading /> : (
          <>
            <p className="muted">Your role needs more than a password. Add a passkey (this device, a security key or your phone) or an authenticator app.</p>
            {status.data.available.passkeys && <AddPasskey onEnrolled={enrolled} />}
            {status.data.available.totp && <TotpSetup onEnrolled={enrolled} />}
            {!status.data.available.passkeys && !status.data.available.totp && <div className="note note-bad" role="alert">This server offers no second factor yet: ask its operator to set JML_MASTER_KEY or JML_PUBLIC_URL.</div>}
          </>
        )}
        <button type="button" className="link-button" onClick={onSignOut}>Sign out</button>
      </section>
    </main>
  );
}

/** Mounted once: sensitive actions refused for an old factor open this dialog, then go through. */
export function StepUpDialog() {
  const [pending, setPending] = useState<{ reason: string; resolve: () => void; reject: (e: Error) => void } | null>(null);
  const status = useApi<MfaStatus>(pending ? '/api/me/mfa' : null);
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    setStepUpHandler((reason) => new Promise<void>((resolve, reject) => setPending({ reason, resolve, reject })));
    return () => setStepUpHandler(null);
  }, []);
  useEffect(() => {
    if (pending && ref.current && !ref.current.open) ref.current.showModal();
    if (!pending && ref.current?.open) ref.current.close();
  }, [pending]);
  const cancel = () => {
    pending?.reject(new ApiError(403, 'forbidden', 'cancelled: the action needs your second factor', ''));
    setPending(null);
  };
  return (
    <dialog ref={ref} className="card mfa-card" aria-labelledby="step-up-title" onCancel={(e) => { e.preventDefault(); cancel(); }}>
      {pending && (
        <div className="stack">
          <h2 id="step-up-title">Confirm it’s you</h2>
          {!status.data ? <Loading /> : <ProveFactor status={status.data} intro={<p className="muted">{pending.reason}</p>} onDone={() => { pending.resolve(); setPending(null); }} />}
          <button type="button" onClick={cancel}>Cancel</button>
        </div>
      )}
    </dialog>
  );
}

/** The "Security" page: the caller's sign-in methods, and pending resets for admins. */
export function SecurityPage({ session }: { session: Session }) {
  const status = useApi<MfaStatus>('/api/me/mfa');
  const resets = useApi<{ items: { id: string; username: string; requestedBy: string; requestedAt: string; expiresAt: string }[] }>(session.user.roles.includes('admin') ? '/api/mfa-resets' : null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try { await fn(); status.reload(); resets.reload(); } catch (e) { setError(e as Error); }
  };
  if (status.error) return <ErrorNote error={status.error} />;
  if (!status.data) return <Loading />;
  const s = status.data;
  const enrolled = (issued: string[] | null) => { if (issued) setCodes(issued); status.reload(); };
  return (
    <div className="stack">
      <ErrorNote error={error} />
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      <Card title="Passkeys">
        {s.passkeys.length === 0 ? <p className="empty">No passkeys yet.</p> : (
          <ul className="list">
            {s.passkeys.map((p) => (
              <li key={p.id} className="passkey">
                <span><b>{p.name}</b><br /><small>added {p.createdAt.slice(0, 10)} · {p.lastUsedAt ? `last used ${p.lastUsedAt.slice(0, 10)}` : 'not used yet'} · {p.backedUp ? 'synced (backed up)' : 'this device only'}</small></span>
                <button type="button" onClick={() => void act(() => api('DELETE', `/api/me/passkeys/${encodeURIComponent(p.id)}`))} aria-label={`Remove passkey ${p.name}`}>Remove</button>
              </li>
            ))}
          </ul>
        )}
        {s.available.passkeys ? <AddPasskey onEnrolled={enrolled} /> : <p className="muted">Passkeys are not offered at this address.</p>}
      </Card>
      <Card title="Authenticator app">
        {s.totp ? (
          <div className="actions"><span>Set up.</span><button type="button" onClick={() => void act(() => api('DELETE', '/api/me/totp'))}>Remove the authenticator app</button></div>
        ) : s.available.totp ? <TotpSetup onEnrolled={enrolled} /> : <p className="muted">This server has no master key, so authenticator apps are not offered.</p>}
      </Card>
      <Card title="Recovery codes">
        <p>{s.recoveryCodesLeft} of 10 left. Sensitive actions ask for your second factor again after {s.stepUpMinutes} minutes.</p>
        <div className="actions"><button type="button" disabled={s.passkeys.length === 0 && !s.totp} onClick={() => void act(async () => setCodes((await api<{ recoveryCodes: string[] }>('POST', '/api/me/recovery-codes')).recoveryCodes))}>New recovery codes</button></div>
      </Card>
      {resets.data && resets.data.items.length > 0 && (
        <Card title="Sign-in resets waiting for you">
          <ul className="list">
            {resets.data.items.map((r) => (
              <li key={r.id} className="passkey">
                <span><b>{r.username}</b> — requested by {r.requestedBy} at {r.requestedAt.slice(0, 16).replace('T', ' ')}</span>
                <button type="button" onClick={() => void act(() => api('POST', `/api/mfa-resets/${encodeURIComponent(r.id)}/confirm`))}>Confirm reset of {r.username}</button>
              </li>
            ))}
          </ul>
        </Card>
      )}
    </div>
  );
}
