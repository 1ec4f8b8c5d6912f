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

/** A tick step of 1, 2 or 5 × 10ⁿ giving about `count` ticks up to `max`. */
export function tickStep(max: number, count = 4): number {
  const raw = Math.max(1, max) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return Math.max(1, step);
}

/** A stacked bar chart without a chart library: one column per day, a y axis of event counts, an x axis of dates. */
export function EventChart({ days }: { days: { day: string; joiner: number; mover: number; leaver: number; rehire: number }[] }) {
  const kinds = ['joiner', 'mover', 'leaver', 'rehire'] as const;
  const highest = Math.max(0, ...days.map((d) => d.joiner + d.mover + d.leaver + d.rehire));
  const step = tickStep(highest);
  const top = Math.max(step, Math.ceil(highest / step) * step);
  const ticks = Array.from({ length: top / step + 1 }, (_, i) => i * step);
  // Plot area inside a fixed view box; the SVG scales as a whole, so text keeps its proportions.
  const [left, right, plotTop, bottom, width, height] = [44, 8, 10, 40, 640, 220];
  const plotH = height - plotTop - bottom;
  const slot = (width - left - right) / Math.max(1, days.length);
  const y = (v: number) => plotTop + plotH - (v / top) * plotH;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Lifecycle events per day, ${days[0]?.day ?? ''} to ${days.at(-1)?.day ?? ''}: ${days.map((d) => `${d.day} ${kinds.map((k) => `${d[k]} ${k}`).join(' ')}`).join('; ')}`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={width - right} y1={y(t)} y2={y(t)} className={t === 0 ? 'axis' : 'gridline'} />
            <text x={left - 6} y={y(t) + 4} textAnchor="end" className="tick">{t}</text>
          </g>
        ))}
        <text x={12} y={plotTop + plotH / 2} textAnchor="middle" transform={`rotate(-90 12 ${plotTop + plotH / 2})`} className="axis-title">events</text>
        {days.map((d, i) => {
          let acc = 0;
          const x = left + i * slot + slot * 0.15;
          return (
            <g key={d.day}>
              {kinds.map((k) => {
                if (d[k] === 0) return null;
                const from = acc;
                acc += d[k];
                return <rect key={k} x={x} width={slot * 0.7} y={y(acc)} height={y(from) - y(acc)} className={`seg-${k}`}><title>{`${d.day}: ${d[k]} ${k}`}</title></rect>;
              })}
              <text x={x + slot * 0.35} y={plotTop + plotH + 14} textAnchor="middle" className="tick">{d.day.slice(8)}</text>
            </g>
          );
        })}
        <text x={left + (width - left - right) / 2} y={height - 6} textAnchor="middle" className="axis-title">day of month ({days[0]?.day.slice(0, 7) ?? ''}{days.at(-1) && days[0] && days.at(-1)!.day.slice(0, 7) !== days[0].day.slice(0, 7) ? ` – ${days.at(-1)!.day.slice(0, 7)}` : ''})</text>
      </svg>
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
