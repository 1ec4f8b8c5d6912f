import { useEffect, useState } from 'react';
import { api, ApiError } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Badge, Card, Empty, ErrorNote, Loading, Status } from '../ui.tsx';

interface PlanView { id: string; status: string; computedAt: string; approvedBy: string | null; identityKeys: string[]; held: { identityKey: string; requestId: string; state: 'pending' | 'denied'; heldChanges: number }[]; changes: { id: string; kind: string; identityKey: string; system: string | null; entitlement?: string; reason: string; state: string }[] }

interface PlanProgress { planId: string; status: string; total: number; settled: number; active: number; counts: Record<string, number>; quarantined: { system: string; lastError: string | null; waiting: number }[] }

/**
 * An applying plan's progress, polled while the queue works on it (every second; every ten
 * once nothing more can move without someone: tasks, a quarantined system). `onSettled`
 * runs when it stops moving, so the page shows the plan's final state.
 */
function ApplyProgress({ planId, onSettled }: { planId: string; onSettled: () => void }) {
  const [progress, setProgress] = useState<PlanProgress | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wasActive = true;
    let seen = '';
    const poll = async () => {
      try {
        const p = await api<PlanProgress>('GET', `/api/plans/${planId}/progress`);
        if (!live) return;
        setProgress(p);
        setError(null);
        // Tell the page each time the plan stops moving or its status changes (the record closes a moment after the last change).
        const now = `${p.active > 0}:${p.status}`;
        if (p.active === 0 && now !== seen) onSettled();
        seen = now;
        wasActive = p.active > 0;
      } catch (e) {
        if (live) setError(e as Error);
      }
      if (live) timer = setTimeout(() => void poll(), wasActive ? 1_000 : 10_000);
    };
    void poll();
    return () => { live = false; clearTimeout(timer); };
  }, [planId, onSettled]);
  if (error) return <ErrorNote error={error} />;
  if (!progress) return <Loading />;
  const counts = Object.entries(progress.counts).map(([state, n]) => `${n} ${state}`).join(', ');
  return (
    <div className="note" role="status" aria-live="polite">
      <b>Applying</b> <progress value={progress.settled} max={Math.max(1, progress.total)} aria-label="changes settled" /> {progress.settled} of {progress.total} settled{progress.active > 0 ? `, ${progress.active} in progress` : ''}
      <br /><small className="muted">{counts}</small>
      {progress.quarantined.map((q) => (
        <p key={q.system}><Status value="quarantined" /> <b>{q.system}</b>: {q.waiting} change{q.waiting === 1 ? '' : 's'} wait until it is released (<code>jml quarantine release {q.system}</code>) or a worker’s health check passes{q.lastError ? ` — ${q.lastError}` : ''}</p>
      ))}
      {progress.active === 0 && (progress.counts.pending ?? 0) > 0 && <p>Pending changes wait for people: see Tasks.</p>}
    </div>
  );
}

/** Identity keys typed as "E1001, E1002" or one per line. */
const keysOf = (text: string) => [...new Set(text.split(/[\s,]+/).map((k) => k.trim()).filter(Boolean))];

/** Why a held joiner gets nothing yet, in words. */
export function heldReason(h: PlanView['held'][number]): string {
  const what = `${h.heldChanges} change${h.heldChanges === 1 ? '' : 's'} held`;
  return h.state === 'denied' ? `joiner approval ${h.requestId} was denied: ${what} until someone files a new decision` : `waiting for joiner approval ${h.requestId}: ${what} until it is approved`;
}

export function PlansPage({ planId }: { planId?: string }) {
  const list = useApi<{ items: PlanView[] }>('/api/plans?limit=20');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [only, setOnly] = useState('');
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try { await fn(); list.reload(); } catch (e) { setError(e as Error); } finally { setBusy(false); }
  };
  const compute = () => act(async () => {
    const computed = await api<PlanView>('POST', '/api/plans', { identityKeys: keysOf(only) });
    window.location.hash = `#/plans/${computed.id}`;
  });
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading />;
  const selected = list.data.items.find((p) => p.id === planId) ?? list.data.items[0];
  return (
    <div className="grid">
      <Card title="Plans">
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void compute(); }}>
          <label>Only these identities<input type="text" value={only} placeholder="everyone" aria-describedby="plan-scope-help" onChange={(e) => setOnly(e.target.value)} /></label>
          <small id="plan-scope-help" className="muted">Identity keys, separated by commas; leave empty to plan for everyone.</small>
          <div className="actions"><button type="submit" className="primary" disabled={busy}>Compute plan</button></div>
        </form>
        <ErrorNote error={error} />
        {list.data.items.length === 0 ? <Empty>No plans yet.</Empty> : (
          <ul className="list">{list.data.items.map((p) => <li key={p.id}><a href={`#/plans/${p.id}`} aria-current={p.id === selected?.id}>{p.changes.length} changes{p.identityKeys.length > 0 ? ` · ${p.identityKeys.join(', ')}` : ''}</a> <Status value={p.status} /> <small>{new Date(p.computedAt).toLocaleString()}</small></li>)}</ul>
        )}
      </Card>
      {selected && (
        <Card title={`Plan preview · ${selected.changes.length} changes`} className="span-2" action={
          <div className="actions">
            {selected.status === 'awaiting_approval' && <button type="button" className="primary" disabled={busy} onClick={() => act(() => api('POST', `/api/plans/${selected.id}/approve`))}>Approve</button>}
            {selected.status === 'approved' && <button type="button" className="primary" disabled={busy} onClick={() => act(() => api('POST', `/api/plans/${selected.id}/apply`))}>Apply</button>}
            <Status value={selected.status} />
          </div>
        }>
          {selected.identityKeys.length > 0 && <p className="muted">For {selected.identityKeys.join(', ')} only</p>}
          {selected.approvedBy && <p className="muted">Approved by {selected.approvedBy}</p>}
          {selected.status === 'applying' && <ApplyProgress key={selected.id} planId={selected.id} onSettled={list.reload} />}
          {selected.held.length > 0 && (
            <div className="note" role="note">
              <b>Held for approval</b>
              <ul className="list">{selected.held.map((h) => <li key={h.identityKey}><a href={`#/people/${encodeURIComponent(h.identityKey)}`}>{h.identityKey}</a> <Status value={h.state === 'denied' ? 'denied' : 'held'} /> <small>{heldReason(h)}</small></li>)}</ul>
            </div>
          )}
          <div className="table-wrap">
            <table>
              <thead><tr><th>Change</th><th>Identity</th><th>System</th><th>Reason</th><th>State</th></tr></thead>
              <tbody>{selected.changes.map((c) => (
                <tr key={c.id}><td>{c.kind.replace(/_/g, ' ')}{c.entitlement ? <small> {c.entitlement}</small> : null}</td><td><a href={`#/people/${encodeURIComponent(c.identityKey)}`}>{c.identityKey}</a></td><td>{c.system ?? 'jml'}</td><td><small>{c.reason}</small></td><td><Status value={c.state} /></td></tr>
              ))}</tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}

interface ImportOutcome { id: string | null; status: string; dryRun: boolean; held: boolean; wouldBeHeld: boolean; rows: { total: number; valid: number; invalid: number }; events: { type: string; identityKey: string; effectiveDate: string; changes: Record<string, unknown> }[]; errors: { row: number; message: string }[]; message: string }

export function ImportPage() {
  const [source, setSource] = useState('hr');
  const [file, setFile] = useState<{ name: string; content: string } | null>(null);
  const [result, setResult] = useState<ImportOutcome | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (dryRun: boolean) => {
    if (!file) return;
    setBusy(true); setError(null);
    try { setResult(await api<ImportOutcome>('POST', '/api/imports', { source, fileName: file.name, content: file.content, dryRun })); } catch (e) { setError(e as ApiError); } finally { setBusy(false); }
  };
  const release = async () => {
    if (!result?.id) return;
    setBusy(true);
    try { setResult(await api<ImportOutcome>('POST', `/api/imports/${result.id}/release`)); } catch (e) { setError(e as ApiError); } finally { setBusy(false); }
  };
  const counts = result?.events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.type]: (acc[e.type] ?? 0) + 1 }), {}) ?? {};
  return (
    <div className="grid">
      <Card title="Import a source file">
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void run(true); }}>
          <label>Source<select value={source} onChange={(e) => setSource(e.target.value)}><option value="hr">HR</option><option value="vendor">Vendor</option></select></label>
          <label>File<input type="file" accept=".csv,.yaml,.yml,text/csv" onChange={async (e) => { const f = e.target.files?.[0]; setResult(null); setFile(f ? { name: f.name, content: await f.text() } : null); }} /></label>
          <div className="actions">
            <button type="submit" disabled={!file || busy}>Preview (dry run)</button>
            <button type="button" className="primary" disabled={!file || busy || !result?.dryRun || result.errors.length > 0} onClick={() => void run(false)}>Import</button>
          </div>
        </form>
        <ErrorNote error={error} />
      </Card>
      <RecentImports reloadKey={result?.id ?? ''} />
      <Card title={result ? (result.dryRun ? 'Dry run: what would change' : 'Imported') : 'Result'} className="span-2">
        {!result ? <Empty>Choose a file and preview it: nothing is stored until you import.</Empty> : (
          <>
            {result.wouldBeHeld && (
              <div className="note note-bad" role="alert">
                <b>Importing this would be held by the mass-change guard.</b> {result.message}
              </div>
            )}
            {result.held && (
              <div className="note note-bad" role="alert">
                <b>Held by the mass-change guard.</b> {result.message} <button type="button" className="danger" disabled={busy} onClick={() => void release()}>Release</button>
              </div>
            )}
            <p className="summary">
              <Status value={result.status} /> {result.rows.total} rows · {result.rows.invalid} invalid · {Object.entries(counts).map(([k, n]) => <Badge key={k} tone={k === 'leaver' ? 'bad' : k === 'joiner' ? 'good' : 'info'}>{n} {k}</Badge>)}
            </p>
            {result.errors.length > 0 && <ul className="list errors">{result.errors.slice(0, 50).map((e) => <li key={e.row}>row {e.row}: {e.message}</li>)}</ul>}
            <div className="table-wrap">
              <table>
                <thead><tr><th>Event</th><th>Identity</th><th>Effective</th><th>Changes</th></tr></thead>
                <tbody>{result.events.slice(0, 200).map((e, n) => (
                  <tr key={n}><td><Status value={e.type} /></td><td><a href={`#/people/${encodeURIComponent(e.identityKey)}`}>{e.identityKey}</a></td><td>{e.effectiveDate}</td><td><small>{Object.keys(e.changes).join(', ')}</small></td></tr>
                ))}</tbody>
              </table>
            </div>
          </>
        )}
      </Card>
    </div>
  );
}

interface ImportRow { id: string; source: string; fileName: string; status: string; asOf: string; rowsTotal: number; rowsInvalid: number; actor: string; startedAt: string }

/** File imports and inbound (SCIM) pushes side by side, newest first; a held one can be released here. */
function RecentImports({ reloadKey }: { reloadKey: string }) {
  const { data, error, reload } = useApi<{ items: ImportRow[] }>('/api/imports?limit=20');
  const [err, setErr] = useState<Error | null>(null);
  useEffect(() => { reload(); }, [reloadKey]);
  const release = async (id: string) => {
    try { await api('POST', `/api/imports/${id}/release`); reload(); } catch (e) { setErr(e as Error); }
  };
  return (
    <Card title="Recent imports and inbound pushes" className="span-2">
      <ErrorNote error={error ?? err} />
      {!data ? <Loading /> : data.items.length === 0 ? <Empty>No imports yet.</Empty> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Started</th><th>Source</th><th>How</th><th>Rows</th><th>By</th><th>Status</th></tr></thead>
            <tbody>{data.items.map((i) => (
              <tr key={i.id}>
                <td><small>{i.startedAt.replace('T', ' ').slice(0, 19)}</small></td>
                <td>{i.source}</td>
                <td>{i.fileName.startsWith('scim ') ? <><Badge tone="info">SCIM push</Badge> <small>{i.fileName.slice(5)}</small></> : <><Badge tone="good">file</Badge> <small>{i.fileName}</small></>}</td>
                <td>{i.rowsTotal}{i.rowsInvalid > 0 ? <small> ({i.rowsInvalid} invalid)</small> : null}</td>
                <td><small>{i.actor}</small></td>
                <td><Status value={i.status} /> {i.status === 'held' && <button type="button" className="danger" aria-label={`Release ${i.fileName} of ${i.source}`} onClick={() => void release(i.id)}>Release</button>}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

interface Approval { id: string; kind: string; identityKey: string; summary: string; requestedBy: string; requestedAt: string; system: string | null; stage: string | null }

export function ApprovalsPage() {
  const { data, error, reload } = useApi<{ items: Approval[] }>('/api/approvals');
  const [err, setErr] = useState<Error | null>(null);
  const decide = async (id: string, decision: 'approve' | 'reject') => {
    try { await api('POST', `/api/approvals/${id}/decision`, { decision }); reload(); window.dispatchEvent(new Event('jml:work-changed')); } catch (e) { setErr(e as Error); }
  };
  return (
    <Card title="Approvals inbox">
      <ErrorNote error={error ?? err} />
      {data && data.items.length === 0 ? <Empty>Nothing waits on you.</Empty> : (
        <ul className="list cards">{data?.items.map((a) => (
          <li key={a.id}>
            <div><b>{a.summary}</b> for <a className="inline-link" href={`#/people/${encodeURIComponent(a.identityKey)}`}>{a.identityKey}</a><br /><small>asked by {a.requestedBy} · {new Date(a.requestedAt).toLocaleString()}{a.stage ? ` · stage ${a.stage.replace(/_/g, ' ')}` : ''}</small></div>
            <div className="actions"><button type="button" className="primary" onClick={() => void decide(a.id, 'approve')}>Approve</button><button type="button" onClick={() => void decide(a.id, 'reject')}>Reject</button></div>
          </li>
        ))}</ul>
      )}
    </Card>
  );
}

interface Task { id: string; system: string; kind: string; identityKey: string; instruction: string; status: string; dueAt: string; needsConfirmation: boolean; evidenceNote: string | null; deliversPassword: boolean }

async function sha256Hex(file: File): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function TasksPage() {
  const { data, error, reload } = useApi<{ items: Task[] }>('/api/tasks?status=open');
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [files, setFiles] = useState<Record<string, string>>({});
  const [err, setErr] = useState<Error | null>(null);
  // Shown once: jml destroys the password as it hands it over, so it lives only in this page's memory.
  const [revealed, setRevealed] = useState<Record<string, string>>({});
  const reveal = async (t: Task) => {
    if (!window.confirm('The password is shown once and then destroyed in jml. Show it now?')) return;
    try { const { password } = await api<{ password: string }>('POST', `/api/tasks/${t.id}/initial-password`); setRevealed({ ...revealed, [t.id]: password }); } catch (e) { setErr(e as Error); }
  };
  const close = async (t: Task) => {
    try { await api('POST', `/api/tasks/${t.id}/complete`, { note: notes[t.id] || undefined, fileSha256: files[t.id] || undefined }); reload(); window.dispatchEvent(new Event('jml:work-changed')); } catch (e) { setErr(e as Error); }
  };
  return (
    <Card title="Manual tasks">
      <ErrorNote error={error ?? err} />
      {data && data.items.length === 0 ? <Empty>No open tasks.</Empty> : (
        <ul className="list cards">{data?.items.map((t) => (
          <li key={t.id}>
            <div><b>{t.instruction}</b><br /><small>{t.system} · <a href={`#/people/${encodeURIComponent(t.identityKey)}`}>{t.identityKey}</a> · due {new Date(t.dueAt).toLocaleString()}</small></div>
            {t.deliversPassword && (revealed[t.id]
              ? <p>Password (shown once, now destroyed in jml): <code>{revealed[t.id]}</code></p>
              : <button type="button" onClick={() => void reveal(t)}>Reveal password once</button>)}
            <form className="evidence" onSubmit={(e) => { e.preventDefault(); void close(t); }}>
              <input aria-label="evidence note" placeholder="What you did" value={notes[t.id] ?? ''} onChange={(e) => setNotes({ ...notes, [t.id]: e.target.value })} />
              <input aria-label="evidence file" type="file" onChange={async (e) => { const f = e.target.files?.[0]; if (f) setFiles({ ...files, [t.id]: await sha256Hex(f) }); }} />
              <button type="submit" className="primary" disabled={!notes[t.id] && !files[t.id]}>Close with evidence</button>
            </form>
          </li>
        ))}</ul>
      )}
    </Card>
  );
}

interface Me { identityKey: string | null; access: { desired: { system: string; entitlement: string; reasons: string[] }[]; accounts: { system: string; name: string; enabled: boolean; grants: string[] }[] }; assets: { tag: string; kind: string; description: string; status: string }[]; requests: (Approval & { state: string })[]; requestable: { system: string; entitlement: string; privileged: boolean }[] }

export function SelfServicePage() {
  const { data, error, reload } = useApi<Me>('/api/me');
  const [choice, setChoice] = useState('');
  const [why, setWhy] = useState('');
  const [err, setErr] = useState<Error | null>(null);
  const [mitigating, setMitigating] = useState(false);
  const [control, setControl] = useState('');
  const [controlOwner, setControlOwner] = useState('');
  const [days, setDays] = useState('14');
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading />;
  const request = async () => {
    const [system, entitlement] = choice.split('\u0000');
    try {
      // Access that would break an SoD rule goes as a mitigation: an exception with a compensating control and an end date.
      if (mitigating) await api('POST', '/api/sod-mitigations', { system, entitlement, justification: why, control: control.trim(), controlOwner: controlOwner.trim(), durationDays: Number(days) });
      else await api('POST', '/api/access-requests', { system, entitlement, justification: why });
      setWhy(''); setChoice(''); setControl(''); setControlOwner(''); setMitigating(false); setErr(null); reload();
    } catch (e) { setErr(e as Error); }
  };
  const mitigationReady = !mitigating || (control.trim() !== '' && controlOwner.trim() !== '' && Number.isInteger(Number(days)) && Number(days) >= 1);
  return (
    <div className="grid">
      <Card title="My access" className="span-2">
        {data.access.desired.length === 0 && data.access.accounts.length === 0 ? <Empty>No access recorded yet.</Empty> : (
          <ul className="list">{data.access.desired.map((d) => <li key={`${d.system}/${d.entitlement}`}><b>{d.system}</b> {d.entitlement} <small>{d.reasons.join('; ')}</small></li>)}</ul>
        )}
      </Card>
      <Card title="My equipment">
        {data.assets.length === 0 ? <Empty>No equipment in your custody.</Empty> : <ul className="list">{data.assets.map((a) => <li key={a.tag}><b>{a.tag}</b> {a.description || a.kind} <Status value={a.status} /></li>)}</ul>}
      </Card>
      <Card title="Request access">
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void request(); }}>
          <label>What<select value={choice} onChange={(e) => setChoice(e.target.value)}><option value="">Choose…</option>{data.requestable.map((r) => <option key={`${r.system}/${r.entitlement}`} value={`${r.system}\u0000${r.entitlement}`}>{r.system} · {r.entitlement}{r.privileged ? ' (privileged)' : ''}</option>)}</select></label>
          <label>Why<textarea value={why} onChange={(e) => setWhy(e.target.value)} rows={3} /></label>
          <label className="inline"><input type="checkbox" checked={mitigating} onChange={(e) => setMitigating(e.target.checked)} /> It conflicts with an SoD rule: file it as a mitigation</label>
          {mitigating && (
            <fieldset className="stack">
              <legend>SoD mitigation</legend>
              <label>Compensating control<input value={control} onChange={(e) => setControl(e.target.value)} placeholder="a control the rule allows" /></label>
              <label>Control owner<input value={controlOwner} onChange={(e) => setControlOwner(e.target.value)} placeholder="identity key, not yours" /></label>
              <label>Days<input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} /></label>
              <small>The rule's owner decides last; the access ends after these days.</small>
            </fieldset>
          )}
          <button type="submit" className="primary" disabled={!choice || why.trim().length < 3 || !mitigationReady}>{mitigating ? 'File mitigation' : 'Send request'}</button>
        </form>
        <ErrorNote error={err} />
      </Card>
      <Card title="My requests" className="span-2">
        {data.requests.length === 0 ? <Empty>No requests.</Empty> : <ul className="list">{data.requests.map((r) => <li key={r.id}><Status value={r.state} /> {r.summary} <small>{new Date(r.requestedAt).toLocaleString()}</small></li>)}</ul>}
      </Card>
    </div>
  );
}
