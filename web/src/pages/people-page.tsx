import { useState } from 'react';
import { useApi } from '../use-api.ts';
import { Card, Empty, ErrorNote, Status } from '../ui.tsx';

interface Person { key: string; displayName: string; kind: string; status: string; email: string | null; department: string | null; title: string | null; manager: string | null }

export function PeoplePage() {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [kind, setKind] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const params = new URLSearchParams({ limit: '25', sort: 'name' });
  if (q) params.set('q', q);
  if (status) params.set('status', status);
  if (kind) params.set('kind', kind);
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set('cursor', cursor);
  const { data, error, loading } = useApi<{ items: Person[]; nextCursor: string | null; total: number }>(`/api/people?${params}`);
  const reset = () => setCursors([]);
  return (
    <Card title="People" action={<small>{loading ? 'Searching…' : data ? `${(cursors.length * 25 + (data.items.length > 0 ? 1 : 0)).toLocaleString()}–${(cursors.length * 25 + data.items.length).toLocaleString()} of ${data.total.toLocaleString()} · by name` : ''}</small>}>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Search<input type="search" placeholder="Name, email or key" value={q} onChange={(e) => { setQ(e.target.value); reset(); }} /></label>
        <label>Status<select value={status} onChange={(e) => { setStatus(e.target.value); reset(); }}><option value="">Any</option><option>active</option><option>pending</option><option>suspended</option><option>left</option></select></label>
        <label>Kind<select value={kind} onChange={(e) => { setKind(e.target.value); reset(); }}><option value="">Any</option><option>employee</option><option>contractor</option><option>contingent</option><option>service_account</option><option>integration</option><option>ai_agent</option></select></label>
      </form>
      <ErrorNote error={error} />
      {data && data.items.length === 0 ? <Empty>No one matches.</Empty> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Kind</th><th>Department</th><th>Title</th><th>Status</th></tr></thead>
            <tbody>
              {data?.items.map((p) => (
                <tr key={p.key}>
                  <td><a href={`#/people/${encodeURIComponent(p.key)}`}>{p.displayName}</a><br /><small>{p.email ?? p.key}</small></td>
                  <td>{p.kind.replace(/_/g, ' ')}</td>
                  <td>{p.department ?? '—'}</td>
                  <td>{p.title ?? '—'}</td>
                  <td><Status value={p.status} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>← Previous</button>
        <button type="button" disabled={!data?.nextCursor} onClick={() => data?.nextCursor && setCursors((c) => [...c, data.nextCursor!])}>Next →</button>
      </nav>
    </Card>
  );
}
