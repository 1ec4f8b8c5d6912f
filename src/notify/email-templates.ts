/**
 * Email bodies in plain text and HTML. Everything that comes from data is
 * HTML-escaped; links are only ever the console's own base URL plus a path.
 */
import type { Notification } from './notification.ts';

export interface RenderedEmail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML elements and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function url(baseUrl: string, link: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${link.replace(/^\/+/, '')}`;
}

/**
 * One email holding `items` (a day's digest, or a single urgent notification).
 * @example renderEmail('m1@example.test', '2027-01-08', notifications, 'https://jml.example.test')
 */
export function renderEmail(to: string, day: string, items: readonly Notification[], baseUrl: string): RenderedEmail {
  const subject = items.length === 1 ? `[jml] ${items[0]!.title}` : `[jml] ${items.length} things waiting for you (${day})`;
  const text = [
    items.length === 1 ? '' : `jml: ${items.length} things waiting for you on ${day}.\n`,
    ...items.map((n) => [`* ${n.title}`, ...n.lines.map((l) => `  ${l}`), ...(n.link ? [`  ${url(baseUrl, n.link)}`] : [])].join('\n')),
    '',
    'You receive this because jml asks you to review or approve access. One digest a day unless something is urgent.',
  ].filter((part, i) => i > 0 || part !== '').join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    items.length === 1 ? '' : `<p>jml: ${items.length} things waiting for you on ${escapeHtml(day)}.</p>`,
    '<ul>',
    ...items.map((n) => `<li><strong>${escapeHtml(n.title)}</strong>${n.lines.map((l) => `<br>${escapeHtml(l)}`).join('')}${n.link ? `<br><a href="${escapeHtml(url(baseUrl, n.link))}">Open in jml</a>` : ''}</li>`),
    '</ul>',
    '<p style="color:#555">You receive this because jml asks you to review or approve access. One digest a day unless something is urgent.</p>',
    '</body></html>',
  ].join('\n');
  return { to, subject, text, html };
}
