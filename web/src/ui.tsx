import type { ReactNode } from 'react';
import type { ApiError } from './api-client.ts';

export function Card({ title, children, action, className }: { title?: string; children: ReactNode; action?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`} aria-label={title}>
      {title && (
        <header className="card-head">
          <h2>{title}</h2>
          {action}
        </header>
      )}
      {children}
    </section>
  );
}

export function Badge({ tone, children }: { tone?: string; children: ReactNode }) {
  return <span className={`badge badge-${tone ?? 'neutral'}`}>{children}</span>;
}

const TONES: Record<string, string> = {
  active: 'good', left: 'bad', suspended: 'warn', pending: 'info', joiner: 'good', leaver: 'bad', mover: 'info', rehire: 'accent',
  open: 'warn', done: 'info', confirmed: 'good', applied: 'good', already: 'good', planned: 'neutral', awaiting_approval: 'warn', approved: 'info', parked: 'bad', blocked: 'bad', partial: 'warn', held: 'bad', scheduled: 'info',
};
export function Status({ value }: { value: string }) {
  return <Badge tone={TONES[value]}>{value.replace(/_/g, ' ')}</Badge>;
}

export function ErrorNote({ error }: { error: ApiError | Error | null }) {
  if (!error) return null;
  const id = (error as ApiError).requestId;
  return (
    <div className="note note-bad" role="alert">
      {error.message}
      {id ? <small> · request {id.slice(0, 8)}</small> : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Loading() {
  return <div className="loading" aria-busy="true">Loading…</div>;
}

/** A stacked bar chart without a chart library: one column per day. */
export function EventChart({ days }: { days: { day: string; joiner: number; mover: number; leaver: number; rehire: number }[] }) {
  const max = Math.max(1, ...days.map((d) => d.joiner + d.mover + d.leaver + d.rehire));
  const kinds = ['joiner', 'mover', 'leaver', 'rehire'] as const;
  return (
    <figure className="chart" aria-label="lifecycle events per day, last 14 days">
      <div className="bars">
        {days.map((d) => (
          <div key={d.day} className="bar-col" title={`${d.day}: ${kinds.map((k) => `${d[k]} ${k}`).join(', ')}`}>
            <div className="bar-stack">
              {kinds.map((k) => (d[k] > 0 ? <div key={k} className={`seg seg-${k}`} style={{ height: `${(d[k] / max) * 100}%` }} /> : null))}
            </div>
            <span className="bar-label">{d.day.slice(8)}</span>
          </div>
        ))}
      </div>
      <figcaption className="legend">
        {kinds.map((k) => (
          <span key={k}>
            <i className={`dot seg-${k}`} /> {k}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export function Donut({ parts }: { parts: { label: string; value: number; tone: string }[] }) {
  const total = parts.reduce((s, p) => s + p.value, 0) || 1;
  let acc = 0;
  const stops = parts.map((p) => {
    const from = (acc / total) * 360;
    acc += p.value;
    return `var(--${p.tone}) ${from}deg ${(acc / total) * 360}deg`;
  });
  return (
    <div className="donut-wrap">
      <div className="donut" style={{ background: `conic-gradient(${stops.join(',')})` }} role="img" aria-label={parts.map((p) => `${p.value} ${p.label}`).join(', ')}>
        <span>{total}</span>
      </div>
      <ul className="donut-legend">
        {parts.map((p) => (
          <li key={p.label}>
            <i className="dot" style={{ background: `var(--${p.tone})` }} /> {p.label} <b>{p.value}</b>
          </li>
        ))}
      </ul>
    </div>
  );
}
