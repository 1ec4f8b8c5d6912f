/**
 * The control map: which evidence items serve which control of each
 * framework. It is data (control-map.json beside this file), validated when
 * loaded, so adding a control or a framework is an edit to that file.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';

export const EVIDENCE_ITEMS = ['joiners', 'leavers', 'leaver_steps', 'movers', 'access_reviews', 'exceptions', 'findings', 'dormant_accounts', 'asset_returns', 'monthly_checks', 'user_lists', 'measures'] as const;
export type EvidenceItem = (typeof EVIDENCE_ITEMS)[number];
export const FRAMEWORKS = ['iso27001', 'soc2', 'pci-dss', 'nist-csf'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

const item = z.enum(EVIDENCE_ITEMS);
const controlMapSchema = z.strictObject({
  evidence: z.record(item, z.string()),
  frameworks: z.record(
    z.enum(FRAMEWORKS),
    z.strictObject({ title: z.string(), controls: z.array(z.strictObject({ id: z.string(), title: z.string(), evidence: z.array(item).min(1) })).min(1) }),
  ),
});

export type ControlMap = z.output<typeof controlMapSchema>;
export type Control = ControlMap['frameworks'][Framework]['controls'][number];

const MAP_FILE = new URL('./control-map.json', import.meta.url);

/** Loads and validates the control map; a bad edit names the field. */
export function loadControlMap(file: URL | string = MAP_FILE): ControlMap {
  const result = controlMapSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new JmlError('invalid_input', `${String(file)}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}
