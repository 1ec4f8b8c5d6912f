/**
 * Access reviews in the console. The review inbox (part of the Inbox page): the
 * caller's open review items with their context, filters, selection, bulk
 * decisions (confirmed) and delegation, driven by the keyboard: j / k move,
 * x selects, a keeps, r removes, Shift+A / Shift+R decide the selection.
 * The Review campaigns page shows admins and security each campaign's progress per reviewer.
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api-client.ts';
import { useApi } from '../use-api.ts';
import { Badge, Card, Empty, ErrorNote } from '../ui.tsx';
import { WORK_CHANGED } from './inbox-page.tsx';

interface ReviewItem {
  id: string; campaignId: string; identityKey: string; system: string; entitlement: string | null; privileged: boolean;
  recommendation: 'keep' | 'remove'; recommendationWhy: string; lastSignInAt: string | null; grantedBy: string | null;
  peers: { department: string | null; holding: number; of: number }; conflictedReviewers: string[];
}
interface Campaign { id: string; review: string; state: string; dueAt: string; items: number; decided: number; reviewers: { reviewer: string; open: number; decided: number }[] }

/** Each campaign's progress, overall and per reviewer (admins and security). */
export function ReviewCampaignsPage() {
  const campaigns = useApi<{ items: Campaign[] }>('/api/reviews');
  return (
    <Card title="Review campaigns">
      <ErrorNote error={campaigns.error} />
      {campaigns.data?.items.length === 0 ? <Empty>No campaigns.</Empty> : (
        <ul className="list">{campaigns.data?.items.map((c) => (
          <li key={c.id}>
            <div><b>{c.review}</b> <Badge>{c.state}</Badge> <small>due {new Date(c.dueAt).toLocaleDateString()}</small>
              <br /><progress max={Math.max(c.items, 1)} value={c.decided} aria-label={`${c.review}: ${c.decided} of ${c.items} decided`} /> <small>{c.decided} / {c.items}</small>
              <br /><small>{c.reviewers.map((r) => `${r.reviewer}: ${r.decided} decided, ${r.open} open`).join(' · ')}</small></div>
          </li>
        ))}</ul>
      )}
    </Card>
  );
}

/** The caller's open review items; shown nothing at all when none wait and `hideWhenEmpty`. */
export function ReviewInbox({ hideWhenEmpty = false }: { hideWhenEmpty?: boolean }) {
  const { data, error, reload } = useApi<{ items: ReviewItem[] }>('/api/reviews/inbox');
  const [filter, setFilter] = useState<'all' | 'remove' | 'privileged'>('all');
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [cursor, setCursor] = useState(0);
  const [err, setErr] = useState<Error | null>(null);
  const items = useMemo(() => (data?.items ?? []).filter((i) =>
    (filter === 'all' || (filter === 'remove' ? i.recommendation === 'remove' : i.privileged)) &&
    `${i.identityKey} ${i.system}:${i.entitlement ?? ''}`.toLowerCase().includes(text.toLowerCase())), [data, filter, text]);

  async function decide(ids: string[], decision: 'keep' | 'remove') {
    if (ids.length === 0) return;
    const byCampaign = new Map<string, string[]>();
    for (const i of items.filter((x) => ids.includes(x.id))) byCampaign.set(i.campaignId, [...(byCampaign.get(i.campaignId) ?? []), i.id]);
    const privileged = items.some((i) => ids.includes(i.id) && i.privileged);
    let comment: string | undefined;
    if (decision === 'keep' && privileged) {
      comment = window.prompt('Keeping privileged access needs a comment:') ?? '';
      if (comment.trim() === '') return;
    }
    if (ids.length > 1 && !window.confirm(`${decision === 'keep' ? 'Keep' : 'Remove'} ${ids.length} items?`)) return;
    try {
      for (const [campaign, itemIds] of byCampaign) await api('POST', `/api/reviews/${encodeURIComponent(campaign)}/decisions`, { itemIds, decision, confirmed: itemIds.length > 1, ...(comment ? { comment } : {}) });
      setSelected(new Set());
      setErr(null);
      reload();
      window.dispatchEvent(new Event(WORK_CHANGED));
    } catch (e) { setErr(e as Error); }
  }

  async function delegateItem(item: ReviewItem) {
    const to = window.prompt(`Hand ${item.identityKey}'s ${item.system}:${item.entitlement ?? '(account)'} to (identity key):`)?.trim();
    if (!to) return;
    try {
      await api('POST', `/api/reviews/${encodeURIComponent(item.campaignId)}/delegation`, { to, itemIds: [item.id] });
      setErr(null);
      reload();
      window.dispatchEvent(new Event(WORK_CHANGED));
    } catch (e) { setErr(e as Error); }
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
      const current = items[cursor];
      if (e.key === 'j') setCursor((c) => Math.min(c + 1, items.length - 1));
      else if (e.key === 'k') setCursor((c) => Math.max(c - 1, 0));
      else if (e.key === 'x' && current) setSelected((s) => { const n = new Set(s); if (n.has(current.id)) n.delete(current.id); else n.add(current.id); return n; });
      else if (e.key === 'a' && current) void decide([current.id], 'keep');
      else if (e.key === 'r' && current) void decide([current.id], 'remove');
      else if (e.key === 'A') void decide([...selected], 'keep');
      else if (e.key === 'R') void decide([...selected], 'remove');
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (hideWhenEmpty && !error && (data?.items.length ?? 0) === 0) return null;
  return (
    <>
      <Card title="Access reviews" action={<small>j/k move · x select · a keep · r remove · Shift+A / Shift+R decide the selection</small>}>
        <ErrorNote error={error ?? err} />
        <div className="actions">
          <label>Show <select value={filter} onChange={(e) => setFilter(e.target.value as typeof filter)}>
            <option value="all">everything</option><option value="remove">recommended for removal</option><option value="privileged">privileged</option>
          </select></label>
          <label>Filter <input value={text} onChange={(e) => setText(e.target.value)} placeholder="person or entitlement" /></label>
          <button type="button" disabled={selected.size === 0} onClick={() => void decide([...selected], 'keep')}>Keep {selected.size || ''}</button>
          <button type="button" disabled={selected.size === 0} onClick={() => void decide([...selected], 'remove')}>Remove {selected.size || ''}</button>
        </div>
        {data && items.length === 0 ? <Empty>Nothing waits on you.</Empty> : (
          <ul className="list cards" aria-label="Review items">{items.map((i, n) => (
            // A plain list, not a listbox: each item holds its own buttons (axe: nested-interactive); its checkbox is the selection.
            <li key={i.id} aria-current={n === cursor ? 'true' : undefined} className={n === cursor ? 'current' : undefined}>
              <div>
                <label><input type="checkbox" checked={selected.has(i.id)} onChange={() => setSelected((s) => { const x = new Set(s); if (x.has(i.id)) x.delete(i.id); else x.add(i.id); return x; })} /> <b>{i.identityKey}</b> {i.system}:{i.entitlement ?? '(account)'}</label>
                {i.privileged && <> <Badge tone="warn">privileged</Badge></>}
                {i.conflictedReviewers.length > 0 && <> <Badge tone="bad">you hold it too</Badge></>}
                <br /><small>Recommend <b>{i.recommendation}</b>: {i.recommendationWhy}</small>
                <br /><small>last sign-in {i.lastSignInAt ? new Date(i.lastSignInAt).toLocaleDateString() : 'unknown'}{i.grantedBy ? ` · granted by ${i.grantedBy}` : ''}{i.peers.department ? ` · ${i.peers.holding} of ${i.peers.of} in ${i.peers.department} hold it` : ''}</small>
              </div>
              <div className="actions"><button type="button" className="primary" onClick={() => void decide([i.id], 'keep')}>Keep</button><button type="button" onClick={() => void decide([i.id], 'remove')}>Remove</button><button type="button" aria-label={`Delegate ${i.identityKey} ${i.system}:${i.entitlement ?? '(account)'}`} onClick={() => void delegateItem(i)}>Delegate</button></div>
            </li>
          ))}</ul>
        )}
      </Card>
    </>
  );
}
