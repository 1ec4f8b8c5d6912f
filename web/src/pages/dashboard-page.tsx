import { useApi, timeLeft } from '../use-api.ts';
import { Card, Donut, Empty, ErrorNote, EventChart, Loading, Status } from '../ui.tsx';
import { MeasuresCards } from './measures-card.tsx';

interface Dashboard {
  counts: Record<string, number>;
  today: { id: string; type: string; identityKey: string; displayName: string; effectiveDate: string; state: string }[];
  leavers: { identityKey: string; displayName: string; effectiveAt: string; dueAt: string; steps: number; settled: number; overdue: boolean }[];
  plansAwaiting: { id: string; computedAt: string; changes: number }[];
  quarantined: { system: string; reason: string }[];
  findings: { id: string; kind: string; system: string | null; identityKey: string | null; detail: string }[];
  eventsByDay: { day: string; joiner: number; mover: number; leaver: number; rehire: number }[];
  openTasks: number;
  planWaiting: { kind: 'approve'; planId: string; changes: number; since: string } | { kind: 'compute'; events: number; since: string } | null;
  monthlyCheck: { id: string; period: string; dueAt: string; items: number; answered: number; byDepartment: CompletionGroup[]; byManager: CompletionGroup[] } | null;
  assetReturns: { open: number; overdue: number };
}

interface CompletionGroup { group: string; items: number; answered: number; respondents: number; respondentsDone: number }

/** `governance`: the viewer is admin or security, who also see the measures over time (findings and orphans are theirs). */
export function DashboardPage({ governance = false }: { governance?: boolean }) {
  const { data, error, loading } = useApi<Dashboard>('/api/dashboard');
  if (error) return <ErrorNote error={error} />;
  if (loading || !data) return <Loading />;
  const c = data.counts;
  return (
    <div className="grid">
      {data.planWaiting && (
        <p className="note banner span-3" role="status" data-testid="plan-banner">
          {data.planWaiting.kind === 'approve'
            ? <>A plan of {data.planWaiting.changes} changes waits for approval since {new Date(data.planWaiting.since).toLocaleString()}. <a className="button" href={`#/plans/${data.planWaiting.planId}`}>Review the plan</a></>
            : <>{data.planWaiting.events} lifecycle event{data.planWaiting.events === 1 ? '' : 's'} arrived since the last plan was computed. <a className="button" href="#/plans">Compute a plan</a></>}
        </p>
      )}
      <div className="stats span-3">
        <Stat label="Active" value={c.active ?? 0} tone="good" />
        <Stat label="Starting soon" value={c.pending ?? 0} tone="info" />
        <Stat label="Left" value={c.left ?? 0} tone="bad" />
        <Stat label="Open tasks" value={data.openTasks} tone="warn" href="#/tasks" />
        <Stat label="Plans to approve" value={data.plansAwaiting.length} tone="accent" href="#/plans" />
        <Stat label={`Equipment returns open${data.assetReturns.overdue ? `, ${data.assetReturns.overdue} overdue` : ''}`} value={data.assetReturns.open} tone={data.assetReturns.overdue ? 'bad' : 'warn'} href="#/tasks" />
      </div>
      <Card title="Lifecycle events, last 14 days" className="span-2">
        <EventChart days={data.eventsByDay} />
      </Card>
      <Card title="Identities">
        <Donut parts={[{ label: 'active', value: c.active ?? 0, tone: 'good' }, { label: 'pending', value: c.pending ?? 0, tone: 'info' }, { label: 'suspended', value: c.suspended ?? 0, tone: 'warn' }, { label: 'left', value: c.left ?? 0, tone: 'bad' }]} />
      </Card>
      <Card title="Leavers in progress" className="span-2">
        {data.leavers.length === 0 ? <Empty>No leaver is waiting on a step.</Empty> : (
          <table>
            <thead><tr><th>Person</th><th>Effective</th><th>Steps confirmed</th><th>SLA</th></tr></thead>
            <tbody>
              {data.leavers.map((l) => (
                <tr key={l.identityKey}>
                  <td><a href={`#/people/${encodeURIComponent(l.identityKey)}`}>{l.displayName}</a></td>
                  <td>{new Date(l.effectiveAt).toLocaleString()}</td>
                  <td><progress max={Math.max(1, l.steps)} value={l.settled} aria-label="steps confirmed" /> {l.settled}/{l.steps}</td>
                  <td className={l.overdue ? 'bad-text' : ''}>{timeLeft(l.dueAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Today">
        {data.today.length === 0 ? <Empty>Nothing takes effect today.</Empty> : (
          <ul className="list">
            {data.today.slice(0, 10).map((e) => (
              <li key={e.id}><Status value={e.type} /> <a href={`#/people/${encodeURIComponent(e.identityKey)}`}>{e.displayName}</a> <small>{e.effectiveDate}</small></li>
            ))}
            {data.today.length > 10 && <li><small>and {data.today.length - 10} more</small></li>}
          </ul>
        )}
      </Card>
      <Card title="Plans awaiting approval">
        {data.plansAwaiting.length === 0 ? <Empty>None.</Empty> : (
          <ul className="list">{data.plansAwaiting.map((p) => <li key={p.id}><a href={`#/plans/${p.id}`}>{p.changes} changes</a> <small>{new Date(p.computedAt).toLocaleString()}</small></li>)}</ul>
        )}
      </Card>
      <Card title="Quarantined systems">
        {data.quarantined.length === 0 ? <Empty>Every system is healthy.</Empty> : <ul className="list">{data.quarantined.map((q) => <li key={q.system}><b>{q.system}</b> <small>{q.reason}</small></li>)}</ul>}
      </Card>
      <Card title={data.monthlyCheck ? `Monthly check ${data.monthlyCheck.period}` : 'Monthly check'} className="span-3">
        {!data.monthlyCheck ? <Empty>No monthly check has been opened yet.</Empty> : (
          <div className="grid" data-testid="monthly-check-completion">
            <p className="span-3">
              <progress max={Math.max(1, data.monthlyCheck.items)} value={data.monthlyCheck.answered} aria-label="items answered" /> {data.monthlyCheck.answered}/{data.monthlyCheck.items} items answered
              {' '}<small>({timeLeft(data.monthlyCheck.dueAt)})</small>
            </p>
            <CompletionTable title="Department" groups={data.monthlyCheck.byDepartment} />
            <CompletionTable title="Manager" groups={data.monthlyCheck.byManager} />
          </div>
        )}
      </Card>
      <Card title="Findings">
        {data.findings.length === 0 ? <Empty>No open findings.</Empty> : <ul className="list">{data.findings.map((f) => <li key={f.id}><Status value={f.kind} /> {f.detail}</li>)}</ul>}
      </Card>
      {governance && <MeasuresCards />}
    </div>
  );
}

function CompletionTable({ title, groups }: { title: string; groups: CompletionGroup[] }) {
  return (
    <table className="span-1">
      <caption>By {title.toLowerCase()}</caption>
      <thead><tr><th>{title}</th><th>People done</th><th>Items answered</th></tr></thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.group}>
            <td>{g.group}</td>
            <td>{g.respondentsDone}/{g.respondents}</td>
            <td><progress max={Math.max(1, g.items)} value={g.answered} aria-label={`${g.group}: items answered`} /> {Math.round((100 * g.answered) / Math.max(1, g.items))}%</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Stat({ label, value, tone, href }: { label: string; value: number; tone: string; href?: string }) {
  const body = (
    <>
      <span className="stat-value">{value.toLocaleString()}</span>
      <span className="stat-label">{label}</span>
    </>
  );
  return href ? <a className={`stat stat-${tone}`} href={href}>{body}</a> : <div className={`stat stat-${tone}`}>{body}</div>;
}
