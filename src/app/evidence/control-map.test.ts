import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/support/hr-files.ts';
import { loadControlMap } from './control-map.ts';

test('the control map covers every control the frameworks ask jml for, each with evidence', () => {
  const map = loadControlMap();
  const ids = Object.fromEntries(Object.entries(map.frameworks).map(([name, f]) => [name, f.controls.map((c) => c.id)]));
  assert.deepEqual(ids, {
    iso27001: ['A.5.11', 'A.5.15', 'A.5.16', 'A.5.17', 'A.5.18', 'A.6.5', 'A.8.2', 'A.8.5'],
    soc2: ['CC6.1', 'CC6.2', 'CC6.3'],
    'pci-dss': ['7.2.4', '8.2.4', '8.2.5', '8.2.6'],
    'nist-csf': ['PR.AA-01', 'PR.AA-02', 'PR.AA-03', 'PR.AA-04', 'PR.AA-05', 'PR.AA-06'],
  });
});

test('a control map naming an evidence item jml does not produce is refused, naming the field', () => {
  const file = path.join(tempDir(), 'map.json');
  const map = structuredClone(loadControlMap()) as { frameworks: { soc2: { controls: { evidence: string[] }[] } } };
  map.frameworks.soc2.controls[0]!.evidence = ['screenshots'];
  writeFileSync(file, JSON.stringify(map));
  assert.throws(() => loadControlMap(file), /frameworks\.soc2\.controls\.0\.evidence\.0/);
});
