import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeName, childDn, dnKey, dnValue, filterValue, isUnder, ldapFilter, parentDn, parseDn } from './ldap-escape.ts';

describe('filterValue (RFC 4515)', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['plain', 'plain'],
    ['*', '\\2a'],
    ['(', '\\28'],
    [')', '\\29'],
    ['\\', '\\5c'],
    ['\0', '\\00'],
    ['*)(uid=*))(|(uid=*', '\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a'],
    ['a\\2a', 'a\\5c2a'],
    ['Zoë Ørsted 山田', 'Zoë Ørsted 山田'],
    ['', ''],
    ['=,+"<>;#', '=,+"<>;#'],
  ];
  for (const [input, expected] of cases) {
    test(`escapes ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(filterValue(input), expected);
    });
  }

  test('an escaped value contains no unescaped filter syntax whatever the input', () => {
    for (let code = 0; code < 256; code++) {
      const escaped = filterValue(`x${String.fromCharCode(code)}y`);
      assert.doesNotMatch(escaped.replace(/\\[0-9a-f]{2}/g, ''), /[*()\\\0]/);
    }
  });

  test('ldapFilter escapes every interpolated value and keeps literal syntax', () => {
    const payload = '*)(uid=*))(|(uid=*';
    assert.equal(
      ldapFilter`(&(objectClass=person)(uid=${payload})(cn=${'a*'}))`,
      '(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)(cn=a\\2a))',
    );
  });
});

describe('dnValue (RFC 4514)', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['plain', 'plain'],
    ['x,ou=admins', 'x\\,ou\\=admins'],
    ['a+b', 'a\\+b'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\5cslash'],
    ['ends with backslash\\', 'ends with backslash\\5c'],
    ['<tag>', '\\<tag\\>'],
    ['semi;colon', 'semi\\;colon'],
    ['a=b', 'a\\=b'],
    ['#hash', '\\#hash'],
    ['mid#hash', 'mid#hash'],
    [' leading', '\\ leading'],
    ['trailing ', 'trailing\\ '],
    [' ', '\\ '],
    ['  ', '\\ \\ '],
    ['in ner', 'in ner'],
    ['nul\0byte', 'nul\\00byte'],
    ['Zoë Ørsted 山田', 'Zoë Ørsted 山田'],
    ['*)(uid=*', '*)(uid\\=*'],
    ['dept-R&D, Europe', 'dept-R&D\\, Europe'],
    ['dept-Sales+Ops', 'dept-Sales\\+Ops'],
  ];
  for (const [input, expected] of cases) {
    test(`escapes ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(dnValue(input), expected);
    });
  }

  test('an empty value is rejected', () => {
    assert.throws(() => dnValue(''), RangeError);
  });

  test('every escaped value parses back to the original as a single RDN', () => {
    const values = ['x,ou=admins', 'a+b=c', '"q"', '\\', '<>;', '#x', ' x ', 'nul\0', 'Zoë, Ørsted', '  #,+  '];
    for (const value of values) {
      const dn = childDn('uid', value, 'ou=people,dc=example,dc=org');
      const rdns = parseDn(dn);
      assert.equal(rdns.length, 4, dn);
      assert.deepEqual(rdns[0], { attribute: 'uid', value });
      assert.equal(rdns[1]?.value, 'people');
    }
  });
});

describe('DN parsing and comparison', () => {
  test('hex escapes decode as UTF-8 bytes', () => {
    assert.deepEqual(parseDn('cn=Zo\\C3\\AB,dc=x'), [{ attribute: 'cn', value: 'Zoë' }, { attribute: 'dc', value: 'x' }]);
  });

  test('dnKey ignores case, spacing after commas and escape style', () => {
    assert.equal(dnKey('CN=John\\2C Smith, OU=People,dc=Example'), dnKey('cn=john\\, smith,ou=people,dc=example'));
    assert.notEqual(dnKey('cn=a\\,ou=x,dc=y'), dnKey('cn=a,ou=x,dc=y'));
    assert.equal(dnKey('UID=User01,OU=People,DC=Example'), 'uid=user01,ou=people,dc=example');
    assert.equal(dnKey('uid=a=b,ou=x'), dnKey('uid = a=b , ou=x'), 'only the first = of an RDN separates');
    assert.equal(dnKey('cn=a,,dc=y'), dnKey('cn=a, ,dc=y'), 'an empty RDN reads the same with or without spaces');
  });

  test('isUnder tells a child of a base from an escaped look-alike', () => {
    assert.ok(isUnder('uid=a,ou=People,dc=example,dc=org', 'ou=people,dc=example,dc=org'));
    assert.ok(!isUnder('uid=a\\,ou=people,ou=admins,dc=example,dc=org', 'ou=people,dc=example,dc=org'));
    assert.ok(!isUnder('uid=a,ou=xpeople,dc=example,dc=org', 'ou=people,dc=example,dc=org'));
  });

  test('attributeName accepts descriptors, OIDs and options and rejects anything else', () => {
    for (const ok of ['uid', 'employeeNumber', 'member;range=0-1499', '2.5.4.3']) assert.equal(attributeName(ok), ok);
    for (const bad of ['uid=x', 'a)(b', '', '1abc', 'cn,dc']) assert.throws(() => attributeName(bad), RangeError);
  });
});

describe('parentDn', () => {
  test('skips escaped separators, including a value that ends in an escaped backslash', () => {
    assert.equal(parentDn('uid=a\\,b,ou=people,dc=x'), 'ou=people,dc=x');
    assert.equal(parentDn('uid=a\\\\,ou=people,dc=x'), 'ou=people,dc=x');
    assert.equal(parentDn('uid=a\\5c,ou=people, dc=x'), 'ou=people, dc=x');
    assert.equal(parentDn('dc=x'), '');
  });
});
