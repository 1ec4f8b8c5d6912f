/**
 * Small source files for import tests, written to a temp directory, and a
 * configuration object built the way `loadConfig` builds one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema, DEFAULT_SOURCES, type JmlConfig } from '../../src/app/config.ts';

export const HR_HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status';
export const VENDOR_HEADER = 'contractor_id,first_name,last_name,email,company,sponsor_id,start_date,contract_end,status';

export interface Person {
  readonly id: string;
  readonly first?: string;
  readonly last?: string;
  readonly email?: string;
  readonly department?: string;
  readonly title?: string;
  readonly manager?: string;
  readonly location?: string;
  readonly type?: string;
  readonly start?: string;
  readonly end?: string;
  readonly status?: string;
}

export function hrRow(p: Person): string {
  return [
    p.id,
    p.first ?? `First${p.id}`,
    p.last ?? `Last${p.id}`,
    p.email ?? `${p.id.toLowerCase()}@example.com`,
    p.department ?? 'Engineering',
    p.title ?? 'Engineer',
    p.manager ?? '',
    p.location ?? 'Berlin',
    p.type ?? 'Full-time',
    p.start ?? '2024-01-15',
    p.end ?? '',
    p.status ?? 'active',
  ].join(',');
}

export function tempDir(prefix = 'jml-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes an HR CSV with the default headers and returns its path. */
export function writeHr(dir: string, name: string, people: readonly Person[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, [HR_HEADER, ...people.map(hrRow)].join('\n') + '\n');
  return file;
}

export function writeFile(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

export function testConfig(overrides: Record<string, unknown> = {}): JmlConfig {
  const parsed = configSchema.parse(overrides);
  return { ...parsed, sources: { ...DEFAULT_SOURCES, ...parsed.sources }, file: null };
}

/** n people with ids E0001…, reporting to E0001. */
export function staff(n: number, extra: Partial<Person> = {}): Person[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `E${String(i + 1).padStart(4, '0')}`;
    return { id, manager: i === 0 ? '' : 'E0001', ...extra };
  });
}
