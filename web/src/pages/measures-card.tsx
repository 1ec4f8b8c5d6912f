/**
 * The dashboard's measures over time (GET /api/measures, the weekly measures
 * of an evidence pack): leaver SLA attainment, median hours to access
 * confirmed, and findings and orphan accounts open at each week's end.
 */
import { useApi } from '../use-api.ts';
import { Card, Empty, ErrorNote, Loading, tickStep } from '../ui.tsx';

interface Week {
  weekStart: string;
  leavers: number;
  slaMetPct: number | null;
  medianHoursToConfirmed: number | null;
  openFindings: number;
  openOrphans: number;
}

interface Series {
  readonly label: string;
  readonly colour: string;
  readonly value: (w: Week) => number | null;
}

export function MeasuresCards() {
  const { data, error, loading } = useApi<{ from: string; to: string; weeks: Week[] }>('/api/measures?weeks=12');
  if (error) return <Card title="Measures over time" className="span-3"><ErrorNote error={error} /></Card>;
  if (loading || !data) return <Card title="Measures over time" className="span-3"><Loading /></Card>;
  const weeks = data.weeks;
  return (
    <>
      <Card title="Leavers confirmed within the SLA, per week" className="span-3">
        {weeks.every((w) => w.leavers === 0) ? <Empty>No leaver took effect in the last {weeks.length} weeks.</Empty> : (
          <WeeklyChart weeks={weeks} unit="% of leavers" top={100} series={[{ label: 'within the SLA (%)', colour: 'var(--good)', value: (w) => w.slaMetPct }]} />
        )}
      </Card>
      <Card title="Median hours from leaving to access confirmed" className="span-3">
        {weeks.every((w) => w.medianHoursToConfirmed === null) ? <Empty>No leaver was confirmed in the last {weeks.length} weeks.</Empty> : (
          <WeeklyChart weeks={weeks} unit="hours" series={[{ label: 'median hours to confirmed', colour: 'var(--accent)', value: (w) => w.medianHoursToConfirmed }]} />
        )}
      </Card>
      <Card title="Open findings at each week’s end" className="span-3">
        <WeeklyChart weeks={weeks} unit="findings" series={[{ label: 'all findings', colour: 'var(--info)', value: (w) => w.openFindings }, { label: 'orphan accounts', colour: 'var(--bad)', value: (w) => w.openOrphans }]} />
      </Card>
    </>
  );
}

/**
 * Grouped bars per week, drawn like the dashboard's event chart: a y axis
 * with 1-2-5 ticks and its unit, an x axis of week starts. A week without a
 * value (no leavers) has no bar and says so in the chart's description.
 */
function WeeklyChart({ weeks, series, unit, top: fixedTop }: { weeks: Week[]; series: Series[]; unit: string; top?: number }) {
  const highest = Math.max(0, ...weeks.flatMap((w) => series.map((s) => s.value(w) ?? 0)));
  const step = tickStep(fixedTop ?? highest);
  const top = fixedTop ?? Math.max(step, Math.ceil(highest / step) * step);
  const ticks = Array.from({ length: Math.floor(top / step) + 1 }, (_, i) => Number((i * step).toPrecision(6)));
  const [left, right, plotTop, bottom, width, height] = [52, 8, 10, 40, 900, 200];
  const plotH = height - plotTop - bottom;
  const slot = (width - left - right) / Math.max(1, weeks.length);
  const bar = (slot * 0.7) / series.length;
  const y = (v: number) => plotTop + plotH - (v / top) * plotH;
  const said = (v: number | null) => (v === null ? 'no value' : String(v));
  const description = `${series.map((s) => s.label).join(' and ')} per week, in ${unit}: ${weeks.map((w) => `week of ${w.weekStart} ${series.map((s) => said(s.value(w))).join(' / ')}`).join('; ')}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={description}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={width - right} y1={y(t)} y2={y(t)} className={t === 0 ? 'axis' : 'gridline'} />
            <text x={left - 6} y={y(t) + 4} textAnchor="end" className="tick">{t}</text>
          </g>
        ))}
        <text x={12} y={plotTop + plotH / 2} textAnchor="middle" transform={`rotate(-90 12 ${plotTop + plotH / 2})`} className="axis-title">{unit}</text>
        {weeks.map((w, i) => {
          const x = left + i * slot + slot * 0.15;
          return (
            <g key={w.weekStart}>
              {series.map((s, k) => {
                const v = s.value(w);
                if (v === null || v === 0) return null;
                return <rect key={s.label} x={x + k * bar} width={bar} y={y(v)} height={y(0) - y(v)} style={{ fill: s.colour }}><title>{`week of ${w.weekStart}: ${v} ${s.label}`}</title></rect>;
              })}
              <text x={x + slot * 0.35} y={plotTop + plotH + 14} textAnchor="middle" className="tick">{w.weekStart.slice(5)}</text>
            </g>
          );
        })}
        <text x={left + (width - left - right) / 2} y={height - 6} textAnchor="middle" className="axis-title">week starting (Monday, UTC, month-day)</text>
      </svg>
      {series.length > 1 && (
        <figcaption className="legend">
          {series.map((s) => (
            <span key={s.label}>
              <i className="dot" style={{ background: s.colour }} /> {s.label}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}
