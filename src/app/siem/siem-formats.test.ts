import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AuditEntry } from '../../store/audit-log.ts';
import { JML_SD_ID, cefHeader, cefValue, formatEntry, octetFrame, toCef, toHec, toOcsf, toSyslog } from './siem-formats.ts';

const schema = JSON.parse(readFileSync(new URL('../../../test/fixtures/ocsf/ocsf-1.8-classes.schema.json', import.meta.url), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(schema);
function validOcsf(event: Record<string, unknown>): string[] {
  const validate = ajv.getSchema(`${schema.$id}#/classes/${String(event.class_uid)}`);
  assert.ok(validate, `the fixture defines class ${String(event.class_uid)}`);
  return validate(event) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

let seq = 0;
function entry(action: string, details: unknown = null, subject = 'E1'): AuditEntry {
  seq++;
  return { seq, id: `aud-${seq}`, at: '2026-12-05T10:00:00.000Z', actor: 'cli:alice', action, subject, trigger: 'cli', before: null, after: null, details: details as AuditEntry['details'], prev_hash: 'a'.repeat(64), hash: `${String(seq).padStart(2, '0')}${'b'.repeat(62)}` };
}

const SAMPLES: readonly [AuditEntry, number, number][] = [
  [entry('change.confirmed', { change: 'c1', kind: 'create_account', system: 'directory' }), 3001, 1],
  [entry('change.confirmed', { change: 'c2', kind: 'disable_account', system: 'directory' }), 3001, 5],
  [entry('auth.signed_in', { method: 'password' }, 'alice'), 3002, 1],
  [entry('auth.sign_in_failed', { reason: 'bad password' }, 'alice'), 3002, 1],
  [entry('change.confirmed', { change: 'c3', kind: 'add_grant', system: 'erp', entitlement: 'pay-approve' }), 3005, 1],
  [entry('change.confirmed', { change: 'c4', kind: 'remove_grant', system: 'erp', entitlement: 'pay-approve' }), 3005, 2],
  [entry('exception.approved', { entitlements: [{ system: 'erp', entitlement: 'pay-approve' }] }), 3005, 1],
  [entry('lifecycle.joiner', null), 3004, 1],
  [entry('lifecycle.leaver', null), 3004, 11],
  [entry('sod.violation_found', { rule: 'payments', severity: 'critical' }), 0, 99],
];

describe('SIEM formats', () => {
  test('each kind of audit entry becomes the OCSF 1.8 class and activity it is, valid against the class definition', () => {
    for (const [e, classUid, activityId] of SAMPLES) {
      const event = toOcsf(e);
      assert.equal(event.class_uid, classUid, e.action);
      assert.equal(event.activity_id, activityId, e.action);
      assert.equal(event.type_uid, classUid * 100 + activityId);
      assert.deepEqual(validOcsf(event), [], e.action);
      assert.deepEqual([(event.metadata as { sequence: number }).sequence, (event.unmapped as { audit_hash: string }).audit_hash], [e.seq, e.hash], 'seq and hash travel with the event');
    }
  });

  test('a failed sign-in is an Authentication failure; a critical SoD violation has critical severity', () => {
    assert.equal(toOcsf(SAMPLES[3]![0]).status_id, 2);
    assert.equal(toOcsf(SAMPLES[9]![0]).severity_id, 5);
  });

  test('the OCSF 1.9 switch puts account changes in User Management (3007) and access in Role Management (3008)', () => {
    const account = toOcsf(SAMPLES[0]![0], { ocsfVersion: '1.9' });
    const access = toOcsf(SAMPLES[4]![0], { ocsfVersion: '1.9' });
    assert.deepEqual([account.class_uid, access.class_uid, (account.metadata as { version: string }).version], [3007, 3008, '1.9.0']);
    assert.deepEqual(validOcsf(account), []);
    assert.deepEqual(validOcsf(access), []);
    assert.equal(toOcsf(SAMPLES[2]![0], { ocsfVersion: '1.9' }).class_uid, 3002, 'authentication keeps its class');
  });

  test('an event missing a required attribute fails the fixture, so the check can fail', () => {
    const broken = toOcsf(SAMPLES[4]![0]);
    delete broken.privileges;
    assert.notDeepEqual(validOcsf(broken), []);
  });

  test('CEF escapes pipes and backslashes in the header and equals signs, backslashes and line breaks in extensions', () => {
    assert.equal(cefHeader('a|b\\c'), 'a\\|b\\\\c');
    assert.equal(cefValue('x=1\\2\nthree\r'), 'x\\=1\\\\2\\nthree\\r');
    const line = toCef(entry('identity.edited', { note: 'a=b|c\nd' }, 'weird|key'));
    assert.match(line, /^CEF:0\|jml\|jml\|0\|identity\.edited\|identity\.edited weird\\\|key\|1\|/);
    assert.match(line, /duser=weird\|key /, 'a pipe needs no escape in an extension');
    assert.match(line, /msg=\{"note":"a\\=b\|c\\\\nd"\}$/);
    assert.match(line, / cn1=\d+ /);
    assert.match(line, /cs1=\d\db{62}/);
  });

  test('syslog messages are RFC 5424 with the entry in jml structured data, escaped, and octet-counted for TCP', () => {
    const e = entry('auth.sign_in_failed', null, 'eve"]\\');
    const message = toSyslog(e, { hostname: 'jml-1' });
    assert.match(message, new RegExp(`^<84>1 2026-12-05T10:00:00.000Z jml-1 jml - auth.sign_in_failed \\[${JML_SD_ID.replace('@', '@')} seq="${e.seq}" hash="${e.hash}" actor="cli:alice" subject="eve\\\\"\\\\]\\\\\\\\" `));
    const framed = octetFrame('<14>1 - - - - - - héllo');
    assert.equal(framed, `${Buffer.byteLength('<14>1 - - - - - - héllo')} <14>1 - - - - - - héllo`);
  });

  test('HEC events carry the entry and its seq and hash as indexed fields', () => {
    const e = SAMPLES[4]![0];
    const hec = toHec(e);
    assert.deepEqual(hec.fields, { audit_seq: e.seq, audit_hash: e.hash, action: 'change.confirmed' });
    assert.equal(hec.time, Date.parse(e.at) / 1000);
    assert.equal(JSON.parse(formatEntry('hec', e)).sourcetype, 'jml:audit');
  });
});
