import { useState } from 'react';
import { api, type ApiError } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Badge, Card, Empty, ErrorNote, Loading, Status } from '../ui.tsx';

interface SystemRow { system: string; connector: string | null; owner: string | null; enforcement: string | null; inPolicy: boolean; state: 'healthy' | 'quarantined'; consecutiveFailures: number; lastError: string | null; quarantinedAt: string | null; lastSuccessAt: string | null; lastReconcile: { status: string; startedAt: string; finishedAt: string | null; error: string | null } | null; openFindings: number }
interface TestResult { system: string; ok: boolean; problems: string[]; accountsRead: number | null; more: boolean; sample: string[]; elapsedMs: number }

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

/** Runs a change and reloads; the error (if any) is shown by the page. */
export function useAction(reload: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try { await fn(); reload(); } catch (e) { setError(e as ApiError); } finally { setBusy(false); }
  };
  return { busy, error, run };
}

/** Systems: health, last reconcile, quarantine and its release, and a connection test (admin). */
export function SystemsPage({ canAct }: { canAct: boolean }) {
  const list = useApi<{ items: SystemRow[] }>('/api/systems');
  const { busy, error, run } = useAction(list.reload);
  const [tests, setTests] = useState<Record<string, TestResult>>({});
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading />;
  return (
    <Card title="Systems" action={<small>{list.data.items.length} systems · {list.data.items.filter((s) => s.state === 'quarantined').length} quarantined</small>}>
      <ErrorNote error={error} />
      {list.data.items.length === 0 ? <Empty>No systems in policy.</Empty> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">System</th><th scope="col">Health</th><th scope="col">Last reconcile</th><th scope="col">Open findings</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((s) => {
                const test = tests[s.system];
                return (
                  <tr key={s.system}>
                    <td><b>{s.system}</b><br /><small>{s.connector ?? 'not in policy'}{s.owner ? ` · owner ${s.owner}` : ''}{s.enforcement ? ` · ${s.enforcement}` : ''}</small></td>
                    <td>
                      {s.state === 'quarantined' ? <Badge tone="bad">quarantined</Badge> : s.consecutiveFailures > 0 ? <Badge tone="warn">{s.consecutiveFailures} failures</Badge> : <Badge tone="good">healthy</Badge>}
                      {s.quarantinedAt && <><br /><small>since {when(s.quarantinedAt)}</small></>}
                      {s.lastError && <><br /><small className="wrap-anywhere">{s.lastError}</small></>}
                    </td>
                    <td>{s.lastReconcile ? <><Status value={s.lastReconcile.status} /><br /><small>{when(s.lastReconcile.finishedAt ?? s.lastReconcile.startedAt)}</small>{s.lastReconcile.error && <><br /><small className="wrap-anywhere">{s.lastReconcile.error}</small></>}</> : <small>never reconciled</small>}</td>
                    <td>{s.openFindings > 0 ? <a href={`#/findings?system=${encodeURIComponent(s.system)}`}>{s.openFindings}</a> : '0'}</td>
                    <td>
                      {canAct && (
                        <div className="actions">
                          {s.inPolicy && <button type="button" disabled={busy} aria-label={`Test connection to ${s.system}`} onClick={() => run(async () => { const r = await api<TestResult>('POST', `/api/systems/${encodeURIComponent(s.system)}/test`); setTests((t) => ({ ...t, [s.system]: r })); })}>Test connection</button>}
                          {s.state === 'quarantined' && <button type="button" className="danger" disabled={busy} aria-label={`Release ${s.system} from quarantine`} onClick={() => run(() => api('POST', `/api/systems/${encodeURIComponent(s.system)}/release`))}>Release</button>}
                        </div>
                      )}
                      {test && (
                        <p className={`note ${test.ok ? '' : 'note-bad'}`} role="status">
                          {test.ok ? `Connected: read ${test.accountsRead} account(s)${test.more ? ' (more exist)' : ''} in ${test.elapsedMs} ms${test.sample.length > 0 ? `: ${test.sample.join(', ')}` : ''}.` : `Failed: ${test.problems.join('; ')}`}
                        </p>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

interface FindingRow { id: string; kind: string; system: string | null; identityKey: string | null; accountId: string | null; entitlement: string | null; detail: string; firstSeen: string; state: 'open' | 'resolved'; resolvedAt: string | null; fixedBy: { planId: string; status: string } | null }

const FINDING_KINDS = ['orphan_account', 'leaver_account_enabled', 'out_of_policy_grant', 'missing_account', 'missing_grant', 'disputed_account', 'dormant', 'parked_change', 'quarantined_system', 'overdue_leaver', 'exception_review', 'lost_asset', 'sod_violation', 'privileged_grant_outside_workflow', 'stale_credential', 'ownerless_nhi', 'leaver_activity', 'self_approver'];

/** Findings: filter, the plan that fixes each, resolution by hand with a note. */
export function FindingsPage() {
  const initial = new URLSearchParams(window.location.hash.split('?')[1] ?? '');
  const [state, setState] = useState('open');
  const [kind, setKind] = useState('');
  const [system, setSystem] = useState(initial.get('system') ?? '');
  const [identity, setIdentity] = useState('');
  const [notes, setNotes] = useState<Record<string, string>>({});
  const params = new URLSearchParams();
  if (state) params.set('state', state);
  if (kind) params.set('kind', kind);
  if (system) params.set('system', system);
  if (identity) params.set('identityKey', identity);
  const list = useApi<{ items: FindingRow[]; total: number }>(`/api/findings?${params}`);
  const { busy, error, run } = useAction(list.reload);
  return (
    <Card title="Findings" action={<small>{list.data ? `${list.data.items.length} of ${list.data.total}` : ''}</small>}>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>State<select value={state} onChange={(e) => setState(e.target.value)}><option value="open">open</option><option value="resolved">resolved</option><option value="">any</option></select></label>
        <label>Kind<select value={kind} onChange={(e) => setKind(e.target.value)}><option value="">any</option>{FINDING_KINDS.map((k) => <option key={k} value={k}>{k.replace(/_/g, ' ')}</option>)}</select></label>
        <label>System<input value={system} onChange={(e) => setSystem(e.target.value)} placeholder="any" /></label>
        <label>Identity<input value={identity} onChange={(e) => setIdentity(e.target.value)} placeholder="any key" /></label>
      </form>
      <ErrorNote error={list.error ?? error} />
      {!list.data ? <Loading /> : list.data.items.length === 0 ? <Empty>No findings match.</Empty> : (
        <ul className="list cards">{list.data.items.map((f) => (
          <li key={f.id}>
            <div className="wrap-anywhere">
              <Status value={f.kind} /> <b>{f.detail}</b><br />
              {f.kind === 'sod_violation' && f.entitlement ? <><small>conflicting pair: <code>{f.entitlement}</code> · mitigate it as an exception with a compensating control, or remove one side</small><br /></> : null}
              <small>{f.system ?? 'jml'}{f.identityKey ? <> · <a href={`#/people/${encodeURIComponent(f.identityKey)}`}>{f.identityKey}</a></> : null} · since {when(f.firstSeen)}{f.resolvedAt ? ` · resolved ${when(f.resolvedAt)}` : ''}</small>
            </div>
            {f.state === 'open' && (
              <div className="actions">
                {f.fixedBy ? <a className="button" href={`#/plans/${f.fixedBy.planId}`}>Fixed by plan ({f.fixedBy.status.replace(/_/g, ' ')})</a> : <small>No plan fixes it yet.</small>}
                <form className="evidence" onSubmit={(e) => { e.preventDefault(); void run(() => api('POST', `/api/findings/${encodeURIComponent(f.id)}/resolve`, { note: notes[f.id] ?? '' })); }}>
                  <input aria-label={`Why ${f.id} is resolved`} placeholder="Why it is resolved" value={notes[f.id] ?? ''} onChange={(e) => setNotes({ ...notes, [f.id]: e.target.value })} />
                  <button type="submit" disabled={busy || (notes[f.id] ?? '').trim().length < 3}>Resolve</button>
                </form>
              </div>
            )}
          </li>
        ))}</ul>
      )}
    </Card>
  );
}

interface ExceptionRow { id: string; requester: string; identityKey: string; entitlements: { system: string; entitlement: string }[]; justification: string; sod: { rule: string; control: string; controlOwner: string } | null; validTo: string | null; reviewState: 'in_force' | 'ending_soon' | 'review_overdue'; reviewDue: string; daysLeft: number }

const REVIEW_TONE = { in_force: 'good', ending_soon: 'warn', review_overdue: 'bad' } as const;

/** Exceptions in force with their review state; a reviewer records that one is still needed. */
export function ExceptionsPage() {
  const list = useApi<{ items: ExceptionRow[] }>('/api/exceptions');
  const { busy, error, run } = useAction(list.reload);
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading />;
  return (
    <Card title="Exceptions in force" action={<small>{list.data.items.filter((x) => x.reviewState === 'review_overdue').length} overdue for review</small>}>
      <ErrorNote error={error} />
      {list.data.items.length === 0 ? <Empty>No exception is in force.</Empty> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">Holder</th><th scope="col">Access</th><th scope="col">Why</th><th scope="col">Ends</th><th scope="col">Review</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>{list.data.items.map((x) => (
              <tr key={x.id}>
                <td><a href={`#/people/${encodeURIComponent(x.identityKey)}`}>{x.identityKey}</a><br /><small>asked by {x.requester}</small></td>
                <td>{x.entitlements.map((e) => `${e.system}:${e.entitlement}`).join(', ')}</td>
                <td><small>{x.justification}</small>{x.sod ? <><br /><Badge tone="warn">SoD {x.sod.rule}</Badge> <small>control: {x.sod.control} (owner {x.sod.controlOwner})</small></> : null}</td>
                <td>{x.validTo?.slice(0, 10)}<br /><small>{x.daysLeft} days left</small></td>
                <td><Badge tone={REVIEW_TONE[x.reviewState]}>{x.reviewState.replace(/_/g, ' ')}</Badge><br /><small>due {x.reviewDue.slice(0, 10)}</small></td>
                <td><button type="button" disabled={busy} aria-label={`Still needed: exception ${x.id}`} onClick={() => run(() => api('POST', `/api/exceptions/${encodeURIComponent(x.id)}/review`, {}))}>Still needed</button></td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

interface AuditRow { seq: number; at: string; actor: string; action: string; subject: string; trigger: string; details: unknown }
interface Verdict { ok: boolean; entries: number; headHash: string | null; brokenAt: number | null; reason: string | null }

const AUDIT_KINDS = ['auth', 'user', 'identity', 'plan', 'change', 'finding', 'alert', 'system', 'exception', 'request', 'access', 'api_token'];

/** The audit trail: search, filter by actor, identity (subject) and kind, and verify the hash chain. */
export function AuditPage({ subject }: { subject?: string | undefined }) {
  const [q, setQ] = useState('');
  const [actor, setActor] = useState('');
  const [identity, setIdentity] = useState(subject ?? '');
  const [kind, setKind] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const params = new URLSearchParams({ limit: '50' });
  if (q) params.set('q', q);
  if (actor) params.set('actor', actor);
  if (identity) params.set('subject', identity);
  if (kind) params.set('kind', kind);
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set('cursor', cursor);
  const list = useApi<{ items: AuditRow[]; nextCursor: string | null }>(`/api/audit?${params}`);
  const filter = (set: (v: string) => void) => (e: { target: { value: string } }) => { set(e.target.value); setCursors([]); };
  const verify = async () => {
    setVerifying(true);
    setError(null);
    try { setVerdict(await api<Verdict>('GET', '/api/audit/verify')); } catch (e) { setError(e as ApiError); } finally { setVerifying(false); }
  };
  return (
    <div className="stack">
      <Card title="Audit chain" action={<button type="button" className="primary" disabled={verifying} onClick={() => void verify()}>{verifying ? 'Verifying…' : 'Verify the chain'}</button>}>
        {verdict === null ? <Empty>Every entry is hash-chained to the one before; verifying walks the whole chain.</Empty> : verdict.ok
          ? <p className="note" role="status"><Badge tone="good">intact</Badge> {verdict.entries} entries; head <code className="wrap-anywhere">{verdict.headHash}</code></p>
          : <p className="note note-bad" role="alert"><Badge tone="bad">broken</Badge> at entry {verdict.brokenAt}: {verdict.reason} ({verdict.entries} entries verified before it)</p>}
        <ErrorNote error={error} />
      </Card>
      <Card title="Audit trail">
        <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <label>Search<input type="search" value={q} onChange={filter(setQ)} placeholder="any text" /></label>
          <label>Actor<input value={actor} onChange={filter(setActor)} placeholder="identity key or user:name" /></label>
          <label>Identity<input value={identity} onChange={filter(setIdentity)} placeholder="subject" /></label>
          <label>Kind<select value={kind} onChange={filter(setKind)}><option value="">any</option>{AUDIT_KINDS.map((k) => <option key={k}>{k}</option>)}</select></label>
        </form>
        <ErrorNote error={list.error} />
        {!list.data ? <Loading /> : list.data.items.length === 0 ? <Empty>No entries match.</Empty> : (
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
              <tbody>{list.data.items.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td><small>{new Date(e.at).toLocaleString()}</small></td>
                  <td className="wrap-anywhere">{e.actor}</td>
                  <td><code>{e.action}</code></td>
                  <td className="wrap-anywhere">{e.subject}</td>
                  <td><small className="wrap-anywhere">{e.details ? JSON.stringify(e.details).slice(0, 200) : ''}</small></td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}
        <nav className="pager" aria-label="pages">
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>← Newer</button>
          <button type="button" disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data!.nextCursor!])}>Older →</button>
        </nav>
      </Card>
    </div>
  );
}
