/**
 * The pack's report for people: a summary per control (evidence items and
 * their counts), the weekly measures as inline SVG charts, then the detail
 * tables. Self-contained HTML (no script, no external resource) so it opens
 * offline and Chromium prints it to the same PDF.
 */
import type { Control } from './control-map.ts';
import type { EvidenceTable, Row } from './evidence-queries.ts';

export interface ReportInput {
  readonly title: string;
  readonly frameworkTitle: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly builtAt: string;
  readonly controls: readonly Control[];
  readonly itemTitles: Readonly<Record<string, string>>;
  readonly tables: readonly EvidenceTable[];
  readonly measures: readonly Row[];
  readonly audit: { readonly firstSeq: number | null; readonly lastSeq: number | null; readonly checkpoint: string };
}

/** Rows of one table shown in the report; the CSV and JSON beside it hold them all. */
export const REPORT_ROW_LIMIT = 200;

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A bar chart of one measure per week; null values leave a gap. */
export function barChart(title: string, labels: readonly string[], values: readonly (number | null)[], unit = ''): string {
  const w = 720;
  const h = 180;
  const pad = 30;
  const max = Math.max(1, ...values.map((v) => v ?? 0));
  const bw = (w - 2 * pad) / Math.max(1, values.length);
  const bars = values
    .map((v, i) => {
      if (v === null) return '';
      const bh = ((h - 2 * pad) * v) / max;
      return `<rect x="${(pad + i * bw).toFixed(1)}" y="${(h - pad - bh).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="#3566a8"><title>${esc(labels[i])}: ${v}${unit}</title></rect>`;
    })
    .join('');
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/><text x="${pad}" y="${pad - 10}" font-size="11">max ${max}${esc(unit)}</text>${bars}
<text x="${pad}" y="${h - 10}" font-size="11">${esc(first)}</text><text x="${w - pad}" y="${h - 10}" font-size="11" text-anchor="end">${esc(last)}</text></svg><figcaption>${esc(title)}</figcaption></figure>`;
}

function table(t: EvidenceTable): string {
  const shown = t.rows.slice(0, REPORT_ROW_LIMIT);
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = shown.map((r) => `<tr>${t.columns.map((c) => `<td>${esc(r[c])}</td>`).join('')}</tr>`).join('\n');
  const more = t.rows.length > shown.length ? `<p class="note">First ${shown.length} of ${t.rows.length} rows; all of them are in data/${esc(t.name)}.csv and .json.</p>` : '';
  const note = t.note ? `<p class="note">${esc(t.note)}</p>` : '';
  const empty = t.rows.length === 0 ? '<p class="note">No rows in this period.</p>' : `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  return `<section id="table-${esc(t.name)}"><h3>${esc(t.title)} (${t.rows.length})</h3>${note}${empty}${more}</section>`;
}

/** Renders the whole report. */
export function renderReport(input: ReportInput): string {
  const countOf = (item: string) => input.tables.filter((t) => t.item === item).reduce((n, t) => n + t.rows.length, 0);
  const summary = input.controls
    .map((c) => `<tr><td>${esc(c.id)}</td><td>${esc(c.title)}</td><td>${c.evidence.map((e) => `<a href="#${esc(e)}">${esc(e)}</a>: ${countOf(e)}`).join('<br>')}</td></tr>`)
    .join('\n');
  const labels = input.measures.map((m) => String(m.week_start));
  const num = (k: string) => input.measures.map((m) => (typeof m[k] === 'number' ? (m[k] as number) : null));
  const charts = [
    barChart('Leaver SLA attainment per week (% of leavers with every step confirmed in time)', labels, num('sla_met_pct'), '%'),
    barChart('Median hours from effective time to access confirmed, per week', labels, num('median_hours_to_confirmed'), ' h'),
    barChart('Open findings at the end of each week', labels, num('open_findings')),
    barChart('Open orphan accounts at the end of each week', labels, num('open_orphans')),
  ].join('\n');
  const items = [...new Set(input.controls.flatMap((c) => c.evidence))];
  const detail = items
    .map((item) => {
      const tables = input.tables.filter((t) => t.item === item);
      const body = tables.length === 0 ? '<p class="note">Nothing of this kind was recorded in the period.</p>' : tables.map(table).join('\n');
      return `<section id="${esc(item)}"><h2>${esc(item)}</h2><p>${esc(input.itemTitles[item])}</p>${body}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:"DejaVu Sans",sans-serif;font-size:11px;margin:24px;color:#111}table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border:1px solid #bbb;padding:2px 4px;text-align:left;vertical-align:top;word-break:break-word}th{background:#eee}.note{color:#555}figure{margin:8px 0;page-break-inside:avoid}h2{page-break-before:auto;border-bottom:1px solid #333}</style></head>
<body><h1>${esc(input.title)}</h1>
<p>${esc(input.frameworkTitle)} · period ${esc(input.period.from)} to ${esc(input.period.to)} · built ${esc(input.builtAt)} by jml from its audit trail and records.</p>
<p>Audit entries covered: ${input.audit.firstSeq === null ? 'none in the period' : `${input.audit.firstSeq} to ${input.audit.lastSeq}`} · ${esc(input.audit.checkpoint)}. Every file of this pack is listed with its SHA-256 in manifest.json, signed in manifest.sig; check it with <code>jml evidence verify</code>.</p>
<h2>Summary per control</h2><table><thead><tr><th>control</th><th>title</th><th>evidence (rows in period)</th></tr></thead><tbody>${summary}</tbody></table>
<h2>Measures over time</h2>${charts}
${detail}
</body></html>
`;
}
