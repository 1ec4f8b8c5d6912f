import { useApi } from '../use-api.ts';
import { Badge, Card, Empty, ErrorNote, Loading, Status } from '../ui.tsx';

interface IdentityPage {
  identity: { key: string; displayName: string; kind: string; status: string; email: string | null; department: string | null; title: string | null; manager: string | null; managerName: string | null; startDate: string | null; endDate: string | null; source: string; owner: string | null; sponsor: string | null; attributes: Record<string, string | null> };
  timeline: { id: string; type: string; effectiveDate: string; detectedAt: string; state: string; source: string; changes: Record<string, [string | null, string | null]> }[];
  access: {
    available: boolean;
    entitlements: { system: string; entitlement: string; state: 'ok' | 'missing' | 'not_desired'; because: string[]; accountIds: string[]; enforcement: string | null }[];
    desired: { system: string; entitlement: string; reasons: string[] }[];
    accounts: { system: string; accountId: string; name: string; enabled: boolean; situation: string | null; lastLoginAt: string | null; grants: string[] }[];
    joinerHold: JoinerHold | null;
  };
  assignments: { id: string; system: string; entitlement: string; reasonType: string; validTo: string | null; state: string }[];
  credentials: { id: string; system: string; kind: string; name: string; createdAt: string; lastRotatedAt: string | null; expiresAt: string | null; status: string }[];
  owned: { key: string; displayName: string; kind: string; status: string; relation: string }[];
  reports: { key: string; displayName: string; status: string }[];
  tasks: { id: string; system: string; kind: string; instruction: string; status: string; dueAt: string }[];
  changes: { planId: string; changeId: string; kind: string; system: string | null; state: string; updatedAt: string }[];
  assets: { tag: string; kind: string; description: string; status: string }[];
}

interface JoinerHold { requestId: string; state: 'pending' | 'denied'; stage: string | null; approvers: string[] }

/** Why this joiner has no access yet, in words: the joiner approval holding them, and on whom it waits. */
export function joinerHoldText(h: JoinerHold): string {
  if (h.state === 'denied') return `Joiner approval ${h.requestId} was denied: plans give this person no access until someone files a new decision.`;
  const waits = h.stage ? ` (stage ${h.stage}${h.approvers.length > 0 ? `, waiting on ${h.approvers.join(', ')}` : ''})` : '';
  return `Held for joiner approval ${h.requestId}${waits}: plans create no account or access for this person until it is approved.`;
}

/** Text that may break after @ . _ - / (emails, DNs) but never inside a word. */
export function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[@._\-/])/);
  return <span className="breakable">{parts.map((p, n) => <span key={n}>{p}{n < parts.length - 1 ? <wbr /> : null}</span>)}</span>;
}

/**
 * The "before" of a change as shown: events recorded before leavers carried their
 * status from the identity's last known one store none, so the timeline supplies it.
 */
export function shownFrom(timeline: IdentityPage['timeline'], event: IdentityPage['timeline'][number], field: string, from: string | null): string | null {
  if (from !== null || field !== 'status' || event.type !== 'leaver') return from;
  const older = timeline.slice(timeline.indexOf(event) + 1).find((e) => e.changes.status?.[1] != null);
  return older?.changes.status?.[1] ?? 'active';
}

export function IdentityPageView({ identityKey }: { identityKey: string }) {
  const { data, error, loading } = useApi<IdentityPage>(`/api/people/${encodeURIComponent(identityKey)}`);
  if (error) return <ErrorNote error={error.status === 404 ? new Error(`You cannot see ${identityKey}, or no such identity exists.`) : error} />;
  if (loading || !data) return <Loading />;
  const { identity: i } = data;
  const accountsBySystem = new Map<string, IdentityPage['access']['accounts']>();
  for (const a of data.access.accounts) accountsBySystem.set(a.system, [...(accountsBySystem.get(a.system) ?? []), a]);
  const counts = { ok: 0, missing: 0, not_desired: 0 };
  for (const e of data.access.entitlements) counts[e.state] += 1;
  // Empty sections share one line instead of a card each saying "none".
  const empty = ([['accounts', accountsBySystem.size], ['credentials', data.credentials.length], ['recent changes', data.changes.length], ['owned or sponsored identities', data.owned.length], ['team', data.reports.length], ['tasks', data.tasks.length], ['equipment', data.assets.length]] as const).filter(([, n]) => n === 0).map(([name]) => name);
  return (
    <div className="grid">
      <header className="identity-head span-3">
        <div className="avatar" aria-hidden="true">{i.displayName.split(' ').map((w) => w[0]).slice(0, 2).join('')}</div>
        <div>
          <h1>{i.displayName} <Status value={i.status} /></h1>
          <p className="muted">{i.title ?? i.kind.replace(/_/g, ' ')}{i.department ? ` · ${i.department}` : ''}{i.email ? <> · <Breakable text={i.email} /></> : ''}</p>
          <p className="muted">Key <code>{i.key}</code> · source {i.source}{i.manager ? <> · manager <a className="inline-link" href={`#/people/${encodeURIComponent(i.manager)}`}>{i.managerName ?? i.manager}</a></> : null}{i.owner ? <> · owner <a className="inline-link" href={`#/people/${encodeURIComponent(i.owner)}`}>{i.owner}</a></> : null}{i.sponsor ? <> · sponsor <a className="inline-link" href={`#/people/${encodeURIComponent(i.sponsor)}`}>{i.sponsor}</a></> : null}{i.startDate ? ` · started ${i.startDate}` : ''}{i.endDate ? ` · ends ${i.endDate}` : ''}</p>
        </div>
      </header>
      {data.access.joinerHold ? (
        <p className={`note span-3 ${data.access.joinerHold.state === 'denied' ? 'note-bad' : 'note-warn'}`} role="status" data-testid="joiner-hold">
          <Badge tone={data.access.joinerHold.state === 'denied' ? 'bad' : 'warn'}>{data.access.joinerHold.state === 'denied' ? 'joiner denied' : 'awaiting approval'}</Badge> {joinerHoldText(data.access.joinerHold)}
        </p>
      ) : null}
      <Card title="Access: desired versus actual" className="span-2" action={data.access.entitlements.length > 0 ? <small>{counts.ok} held · {counts.missing} missing · {counts.not_desired} not desired</small> : undefined}>
        {!data.access.available ? <Empty>Access cannot be explained in this build.</Empty> : data.access.entitlements.length === 0 ? <Empty>No rule, request or exception gives access, and no system reports any.</Empty> : (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Each entitlement, whether it should be held and why, and whether a system holds it</caption>
              <thead><tr><th scope="col">System</th><th scope="col">Entitlement</th><th scope="col">Why desired</th><th scope="col">Actual</th></tr></thead>
              <tbody>
                {data.access.entitlements.map((e) => (
                  <tr key={`${e.system}/${e.entitlement}`}>
                    <td>{e.system}</td>
                    <td>{e.entitlement}</td>
                    <td>{e.because.length > 0 ? <ul className="reasons">{e.because.map((b) => <li key={b}><small>{b}</small></li>)}</ul> : <small>no rule, request or exception{e.enforcement ? ` · ${e.enforcement} enforcement` : ''}</small>}</td>
                    <td>{e.state === 'ok' ? <Badge tone="good">held</Badge> : e.state === 'missing' ? <Badge tone="warn">missing</Badge> : <Badge tone="bad">not desired</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="Timeline">
        {data.timeline.length === 0 ? <Empty>No lifecycle events.</Empty> : (
          <ol className="timeline">
            {data.timeline.map((e) => (
              <li key={e.id}>
                <Status value={e.type} /> <b>{e.effectiveDate}</b> <small>{e.state} · {e.source}</small>
                <ul>{Object.entries(e.changes).slice(0, 6).map(([k, [from, to]]) => <li key={k}><small>{k.replace(/_/g, ' ')}: <Breakable text={shownFrom(data.timeline, e, k, from) ?? '—'} /> → <Breakable text={to ?? '—'} /></small></li>)}</ul>
              </li>
            ))}
          </ol>
        )}
      </Card>
      {accountsBySystem.size > 0 && <Card title="Accounts per system">
        {(
          <dl className="systems">
            {[...accountsBySystem].map(([system, accounts]) => (
              <div key={system}>
                <dt>{system}</dt>
                {accounts.map((a) => (
                  <dd key={a.accountId}>
                    <b>{a.name}</b> {a.enabled ? <Badge tone="good">enabled</Badge> : <Badge tone="bad">disabled</Badge>}
                    <br /><small>{a.grants.length} grants{a.situation ? ` · ${a.situation}` : ''}{a.lastLoginAt ? ` · last sign-in ${a.lastLoginAt.slice(0, 10)}` : ''}</small>
                  </dd>
                ))}
              </div>
            ))}
          </dl>
        )}
      </Card>}
      {data.credentials.length > 0 && <Card title="Credentials"><ul className="list">{data.credentials.map((c) => <li key={c.id}><b>{c.name}</b> <small>{c.kind.replace(/_/g, ' ')} in {c.system} · created {c.createdAt.slice(0, 10)}{c.lastRotatedAt ? ` · rotated ${c.lastRotatedAt.slice(0, 10)}` : ' · never rotated'}{c.expiresAt ? ` · expires ${c.expiresAt.slice(0, 10)}` : ''}</small> <Status value={c.status} /></li>)}</ul></Card>}
      {data.changes.length > 0 && <Card title="Recent changes"><ul className="list">{data.changes.slice(0, 12).map((c) => <li key={`${c.planId}/${c.changeId}`}><Status value={c.state} /> {c.kind.replace(/_/g, ' ')} <small>{c.system ?? 'jml'}</small></li>)}</ul></Card>}
      {data.owned.length > 0 && <Card title="Owned and sponsored"><ul className="list">{data.owned.map((o) => <li key={o.key}><a href={`#/people/${encodeURIComponent(o.key)}`}>{o.displayName}</a> <small>{o.relation} · {o.kind.replace(/_/g, ' ')}</small> <Status value={o.status} /></li>)}</ul></Card>}
      {data.reports.length > 0 && <Card title="Team"><ul className="list">{data.reports.map((r) => <li key={r.key}><a href={`#/people/${encodeURIComponent(r.key)}`}>{r.displayName}</a> <Status value={r.status} /></li>)}</ul></Card>}
      {data.tasks.length > 0 && <Card title="Tasks"><ul className="list">{data.tasks.map((t) => <li key={t.id}><Status value={t.status} /> {t.instruction} <small>{t.system} · due {t.dueAt.slice(0, 10)}</small></li>)}</ul></Card>}
      {data.assets.length > 0 && <Card title="Equipment"><ul className="list">{data.assets.map((a) => <li key={a.tag}><b>{a.tag}</b> {a.description || a.kind} <Status value={a.status} /></li>)}</ul></Card>}
      {empty.length > 0 && <p className="empty-sections span-3" data-testid="empty-sections">Nothing recorded for {empty.join(', ')}.</p>}
      <Card title="Attributes">
        <dl className="attrs">{Object.entries(i.attributes).filter(([, v]) => v !== null).map(([k, v]) => <div key={k}><dt>{k.replace(/_/g, ' ')}</dt><dd><Breakable text={v!} /></dd></div>)}</dl>
      </Card>
    </div>
  );
}
