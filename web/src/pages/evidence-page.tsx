import { useState } from 'react';
import { api, type ApiError } from '../api-client.ts';
import { Card, ErrorNote } from '../ui.tsx';

interface EvidencePack {
  fileName: string;
  zipBase64: string;
  bytes: number;
  counts: Record<string, number>;
  auditEntries: number;
}

const FRAMEWORKS = [
  { value: 'iso27001', label: 'ISO/IEC 27001:2022' },
  { value: 'soc2', label: 'SOC 2' },
  { value: 'pci-dss', label: 'PCI DSS v4.0.1' },
  { value: 'nist-csf', label: 'NIST CSF 2.0' },
];

/** Security and admin roles build a signed evidence pack and download it as a zip. */
export function EvidencePage() {
  const year = new Date().getFullYear();
  const [framework, setFramework] = useState('iso27001');
  const [from, setFrom] = useState(`${year}-01-01`);
  const [to, setTo] = useState(new Date().toISOString().slice(0, 10));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [built, setBuilt] = useState<Omit<EvidencePack, 'zipBase64'> | null>(null);
  async function build() {
    setBusy(true);
    setError(null);
    try {
      const pack = await api<EvidencePack>('POST', '/api/evidence-packs', { framework, from, to });
      const bytes = Uint8Array.from(atob(pack.zipBase64), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/zip' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = pack.fileName;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setBuilt({ fileName: pack.fileName, bytes: pack.bytes, counts: pack.counts, auditEntries: pack.auditEntries });
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="grid">
      <Card title="Build an evidence pack" className="span-2">
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void build(); }}>
          <label>Framework
            <select value={framework} onChange={(e) => setFramework(e.target.value)}>
              {FRAMEWORKS.map((f) => <option key={f.value} value={f.value}>{f.label}</option>)}
            </select>
          </label>
          <label>From<input type="date" value={from} onChange={(e) => setFrom(e.target.value)} required /></label>
          <label>To (included)<input type="date" value={to} onChange={(e) => setTo(e.target.value)} required /></label>
          <small className="muted">The pack holds the report (HTML and PDF), every table as CSV and JSON, and a manifest signed with the audit key. Check it with <code>jml evidence verify</code>.</small>
          <ErrorNote error={error} />
          <div className="actions"><button type="submit" className="primary" disabled={busy}>{busy ? 'Building…' : 'Build and download'}</button></div>
        </form>
      </Card>
      {built && (
        <Card title={`Downloaded ${built.fileName}`}>
          <p role="status">{Math.round(built.bytes / 1024)} KiB · {built.auditEntries} audit entries covered</p>
          <table>
            <thead><tr><th>Table</th><th>Rows</th></tr></thead>
            <tbody>{Object.entries(built.counts).map(([name, n]) => <tr key={name}><td>{name}</td><td>{n}</td></tr>)}</tbody>
          </table>
        </Card>
      )}
    </div>
  );
}
