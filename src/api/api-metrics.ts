/**
 * Prometheus text exposition of the API's own counters: requests by route and
 * status, and a latency histogram. Kept tiny on purpose (no client library).
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface ApiMetrics {
  observe(route: string, method: string, status: number, seconds: number): void;
  /** Extra gauges computed at scrape time (identities by status, open tasks…). */
  render(gauges: readonly { name: string; help: string; values: readonly { labels: Readonly<Record<string, string>>; value: number }[] }[]): string;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** Creates the metrics registry of one server. */
export function createApiMetrics(): ApiMetrics {
  const requests = new Map<string, number>();
  const histogram = new Map<string, { counts: number[]; sum: number; count: number }>();
  return {
    observe(route, method, status, seconds) {
      const key = JSON.stringify([route, method, String(status)]);
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const h = histogram.get(route) ?? { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      BUCKETS.forEach((b, i) => {
        if (seconds <= b) h.counts[i]! += 1;
      });
      h.sum += seconds;
      h.count += 1;
      histogram.set(route, h);
    },
    render(gauges) {
      const lines: string[] = ['# HELP jml_http_requests_total HTTP requests by route, method and status.', '# TYPE jml_http_requests_total counter'];
      for (const [key, value] of requests) {
        const [route, method, status] = JSON.parse(key) as [string, string, string];
        lines.push(`jml_http_requests_total${labelText({ route, method, status })} ${value}`);
      }
      lines.push('# HELP jml_http_request_duration_seconds HTTP request latency by route.', '# TYPE jml_http_request_duration_seconds histogram');
      for (const [route, h] of histogram) {
        BUCKETS.forEach((b, i) => lines.push(`jml_http_request_duration_seconds_bucket${labelText({ route, le: String(b) })} ${h.counts[i]}`));
        lines.push(`jml_http_request_duration_seconds_bucket${labelText({ route, le: '+Inf' })} ${h.count}`);
        lines.push(`jml_http_request_duration_seconds_sum${labelText({ route })} ${h.sum}`);
        lines.push(`jml_http_request_duration_seconds_count${labelText({ route })} ${h.count}`);
      }
      for (const g of gauges) {
        lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
        for (const v of g.values) lines.push(`${g.name}${labelText(v.labels)} ${v.value}`);
      }
      return `${lines.join('\n')}\n`;
    },
  };
}
