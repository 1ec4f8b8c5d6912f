import { useState } from 'react';
import { api } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Card, Empty, ErrorNote, Loading, Status } from '../ui.tsx';
import { useAction } from './oversight-pages.tsx';

interface AssetRow {
  tag: string; serial: string | null; kind: string; description: string; holder: string | null; location: string | null; status: string;
  model: string | null; manufacturer: string | null; purchaseDate: string | null; warrantyMonths: number | null; notes: string;
  acceptedAt: string | null; lastAuditedAt: string | null; nextAuditAt: string | null;
}
interface HistoryRow { at: string; action: string; actor: string; holder: string | null; status: string | null; location: string | null }

const STATUSES = ['in_stock', 'assigned', 'in_repair', 'lost', 'stolen', 'retired', 'collected'];
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');
const label = (a: AssetRow) => `${a.description || a.kind} ${a.tag}`;

/** The register for IT and security: filters by status, category, holder, location and text. */
export function EquipmentPage() {
  const [status, setStatus] = useState('');
  const [kind, setKind] = useState('');
  const [holder, setHolder] = useState('');
  const [q, setQ] = useState('');
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (kind) params.set('kind', kind);
  if (holder) params.set('holder', holder);
  if (q) params.set('q', q);
  const list = useApi<{ items: AssetRow[] }>(`/api/assets?${params}`);
  const due = useApi<{ items: { tag: string; state: string }[] }>('/api/assets/audits-due');
  return (
    <Card title="Equipment" action={<small>{list.data ? `${list.data.items.length} items` : ''}{due.data?.items.length ? ` · ${due.data.items.filter((d) => d.state === 'overdue').length} audits overdue` : ''}</small>}>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Status<select value={status} onChange={(e) => setStatus(e.target.value)}><option value="">any</option>{STATUSES.map((s) => <option key={s} value={s}>{s.replace(/_/g, ' ')}</option>)}</select></label>
        <label>Category<input value={kind} onChange={(e) => setKind(e.target.value)} placeholder="any" /></label>
        <label>Holder<input value={holder} onChange={(e) => setHolder(e.target.value)} placeholder="any key" /></label>
        <label>Search<input value={q} onChange={(e) => setQ(e.target.value)} placeholder="tag, serial, model" /></label>
      </form>
      <ErrorNote error={list.error} />
      {!list.data ? <Loading /> : list.data.items.length === 0 ? <Empty>No equipment matches.</Empty> : (
        <table>
          <thead><tr><th>Tag</th><th>Category</th><th>Model</th><th>Serial</th><th>Status</th><th>Holder</th><th>Location</th></tr></thead>
          <tbody>{list.data.items.map((a) => (
            <tr key={a.tag}>
              <td><a href={`#/equipment/${encodeURIComponent(a.tag)}`}>{a.tag}</a></td><td>{a.kind}</td><td>{a.model ?? ''}</td><td>{a.serial ?? ''}</td>
              <td><Status value={a.status} /></td>
              <td>{a.holder ? <a href={`#/people/${encodeURIComponent(a.holder)}`}>{a.holder}</a> : ''}</td><td>{a.location ?? ''}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </Card>
  );
}

/** One asset: its details and every holder and status it had. */
export function AssetPage({ tag }: { tag: string }) {
  const detail = useApi<{ asset: AssetRow; history: HistoryRow[] }>(`/api/assets/${encodeURIComponent(tag)}`);
  if (detail.error) return <ErrorNote error={detail.error} />;
  if (!detail.data) return <Loading />;
  const a = detail.data.asset;
  return (
    <div className="stack">
      <Card title={label(a)}>
        <dl className="attrs">
          <div><dt>Status</dt><dd><Status value={a.status} /></dd></div>
          <div><dt>Holder</dt><dd>{a.holder ?? 'nobody'}{a.holder ? (a.acceptedAt ? ` · accepted ${when(a.acceptedAt)}` : ' · not accepted yet') : ''}</dd></div>
          <div><dt>Model</dt><dd>{[a.manufacturer, a.model].filter(Boolean).join(' ') || '—'}</dd></div>
          <div><dt>Serial</dt><dd>{a.serial ?? '—'}</dd></div>
          <div><dt>Location</dt><dd>{a.location ?? '—'}</dd></div>
          <div><dt>Purchased</dt><dd>{a.purchaseDate ?? '—'}{a.warrantyMonths !== null ? ` · warranty ${a.warrantyMonths} months` : ''}</dd></div>
          <div><dt>Audit</dt><dd>last {when(a.lastAuditedAt)} · next {a.nextAuditAt ? when(a.nextAuditAt) : 'not scheduled'}</dd></div>
        </dl>
      </Card>
      <Card title="History">
        <ol className="list">{detail.data.history.map((h, i) => (
          <li key={i}><small>{when(h.at)}</small> {h.action.replace(/^asset\./, '').replace(/_/g, ' ')} by {h.actor}{h.status ? ` → ${h.status.replace(/_/g, ' ')}` : ''}{h.holder ? `, held by ${h.holder}` : ''}{h.location ? ` at ${h.location}` : ''}</li>
        ))}</ol>
      </Card>
    </div>
  );
}

/** Self-service: what I hold; accept what was handed to me; report an item lost or stolen in one step. */
export function MyEquipmentPage() {
  const list = useApi<{ items: AssetRow[] }>('/api/me/assets');
  const { busy, error, run } = useAction(list.reload);
  const [asking, setAsking] = useState<{ tag: string; status: 'lost' | 'stolen' } | null>(null);
  const [note, setNote] = useState('');
  return (
    <Card title="My equipment">
      <ErrorNote error={list.error ?? error} />
      {!list.data ? <Loading /> : list.data.items.length === 0 ? <Empty>You hold no equipment.</Empty> : (
        <ul className="list cards">{list.data.items.map((a) => (
          <li key={a.tag}>
            <div className="wrap-anywhere">
              <b>{label(a)}</b> <Status value={a.status} /><br />
              <small>{[a.manufacturer, a.model].filter(Boolean).join(' ')}{a.serial ? ` · serial ${a.serial}` : ''}{a.acceptedAt ? ` · accepted ${when(a.acceptedAt)}` : ''}</small>
            </div>
            <div className="actions">
              {a.status === 'assigned' && !a.acceptedAt && <button type="button" disabled={busy} onClick={() => void run(() => api('POST', `/api/assets/${encodeURIComponent(a.tag)}/accept`))}>I have received it</button>}
              {(a.status === 'assigned' || a.status === 'in_repair') && (asking?.tag === a.tag ? (
                <form className="evidence" onSubmit={(e) => { e.preventDefault(); void run(() => api('POST', `/api/assets/${encodeURIComponent(a.tag)}/report`, { status: asking.status, ...(note.trim() ? { note: note.trim() } : {}) })).then(() => { setAsking(null); setNote(''); }); }}>
                  <input aria-label={`What happened to ${a.tag}`} placeholder="What happened (optional)" value={note} onChange={(e) => setNote(e.target.value)} />
                  <button type="submit" className="danger" disabled={busy}>Report {asking.status}</button>
                  <button type="button" onClick={() => setAsking(null)}>Cancel</button>
                </form>
              ) : (
                <>
                  <button type="button" onClick={() => setAsking({ tag: a.tag, status: 'lost' })}>Lost</button>
                  <button type="button" onClick={() => setAsking({ tag: a.tag, status: 'stolen' })}>Stolen</button>
                </>
              ))}
            </div>
          </li>
        ))}</ul>
      )}
    </Card>
  );
}

interface CheckItem { id: string; campaignId: string; subjectKey: string; itemType: 'asset' | 'access'; label: string; answer: string | null; action: string | null }

const CHOICES: Record<CheckItem['itemType'], { answer: string; text: string }[]> = {
  asset: [{ answer: 'confirmed', text: 'I have it' }, { answer: 'not_mine', text: 'Not mine' }, { answer: 'lost', text: 'Lost' }, { answer: 'stolen', text: 'Stolen' }],
  access: [{ answer: 'needed', text: 'Still needed' }, { answer: 'no_longer_needed', text: 'No longer needed' }],
};

/** Self-service: this month's check — confirm each item by serial, say whether each access is still needed. */
export function MonthlyCheckCard() {
  const list = useApi<{ items: CheckItem[] }>('/api/me/attestations');
  const { busy, error, run } = useAction(list.reload);
  const open = list.data?.items.filter((i) => i.answer === null) ?? [];
  return (
    <Card title="Monthly check" action={<small>{list.data ? `${open.length} to answer` : ''}</small>}>
      <ErrorNote error={list.error ?? error} />
      {!list.data ? <Loading /> : list.data.items.length === 0 ? <Empty>Nothing to confirm this month.</Empty> : (
        <ul className="list cards">{list.data.items.map((i) => (
          <li key={i.id}>
            <div className="wrap-anywhere"><b>{i.label}</b>{i.itemType === 'asset' ? '' : ' (access)'}{i.subjectKey ? <small> · for {i.subjectKey}</small> : null}</div>
            <div className="actions">
              {i.answer ? <Status value={i.answer} /> : CHOICES[i.itemType].map((c) => (
                <button key={c.answer} type="button" disabled={busy} aria-label={`${c.text}: ${i.label}`} onClick={() => void run(() => api('POST', `/api/me/attestations/${encodeURIComponent(i.id)}/answer`, { answer: c.answer }))}>{c.text}</button>
              ))}
            </div>
          </li>
        ))}</ul>
      )}
    </Card>
  );
}
