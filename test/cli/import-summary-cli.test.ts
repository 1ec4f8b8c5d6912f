import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../support/run-cli.ts';
import { tempDir, writeFile } from '../support/hr-files.ts';

test('the import summary names the keys it kept as history and the pending joiners', async () => {
  const dir = tempDir('jml-import-summary-');
  const file = writeFile(
    dir,
    'people.csv',
    'employee_id,first_name,last_name,email,start_date,end_date,status\n' +
      'E1,Ada,Lovelace,ada@example.com,2020-01-06,,active\n' +
      'E2,Old,Timer,old@example.com,2018-01-02,2024-03-31,terminated\n' +
      'E3,Pre,Hire,pre@example.com,2027-01-04,,Pre-Hire\n',
  );
  const run = await runCli(['--data', path.join(dir, 'data'), 'import', 'hr', file, '--as-of', '2026-12-05']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\n {2}already left \(kept as history, no leaver\): E2\n/);
  assert.match(run.stdout, /\n {2}pending \(signed, not started; joiner on the start date\): E3\n/);
  assert.match(run.stdout, /joiner +E3 +effective 2027-01-04/);
});
