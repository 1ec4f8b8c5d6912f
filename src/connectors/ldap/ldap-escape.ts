/**
 * The one place where data becomes LDAP syntax. Every value that reaches a
 * filter goes through `filterValue` (RFC 4515) and every value that reaches a
 * DN goes through `dnValue` (RFC 4514), so `*)(uid=*))(|(uid=*` stays a
 * literal string and `x,ou=admins` stays one RDN value.
 */

/**
 * Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\`
 * and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
 *
 * Non-ASCII characters are left as raw UTF-8, which RFC 4515 allows. They are
 * not hex-escaped on purpose: ldapts decodes each `\XX` into one UTF-16 code
 * unit, which would corrupt multi-byte characters.
 *
 * @example filterValue('*)(uid=*') // '\\2a\\29\\28uid=\\2a'
 */
export function filterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*': out += '\\2a'; break;
      case '(': out += '\\28'; break;
      case ')': out += '\\29'; break;
      case '\\': out += '\\5c'; break;
      case '\0': out += '\\00'; break;
      default: out += ch;
    }
  }
  return out;
}

/**
 * Tagged template for filters: interpolated values are escaped with
 * `filterValue`, the literal parts are trusted syntax.
 *
 * @example ldapFilter`(&(objectClass=inetOrgPerson)(uid=${name}))`
 */
export function ldapFilter(strings: TemplateStringsArray, ...values: readonly string[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += filterValue(value) + (strings[i + 1] ?? '');
  });
  return out;
}

const DN_SPECIAL = new Set([',', '+', '"', '<', '>', ';', '=']);

/**
 * Escapes an attribute value for use in a DN (RFC 4514 §2.4): the specials
 * `,` `+` `"` `<` `>` `;` and `=` get a backslash, as do a leading `#`,
 * a leading space and a trailing space; NUL becomes `\00` and `\` becomes
 * `\5c` (both forms are valid; the hex one keeps ldapts' modifyDN, which
 * splits the new DN at the first comma not preceded by a backslash, from
 * cutting `a\\,ou=x` in the wrong place). Non-ASCII stays raw UTF-8. An
 * empty value is rejected: an RDN must have one.
 *
 * @example dnValue('Smith, John') // 'Smith\\, John'
 */
export function dnValue(value: string): string {
  if (value.length === 0) throw new RangeError('a DN attribute value must not be empty');
  const chars = [...value];
  let out = '';
  chars.forEach((ch, i) => {
    if (ch === '\0') out += '\\00';
    else if (ch === '\\') out += '\\5c';
    else if (DN_SPECIAL.has(ch)) out += `\\${ch}`;
    else if (i === 0 && (ch === '#' || ch === ' ')) out += `\\${ch}`;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

/** Builds `attr=value,parent` with the value escaped. The attribute name must be a plain descriptor. */
export function childDn(attribute: string, value: string, parentDn: string): string {
  return `${attributeName(attribute)}=${dnValue(value)},${parentDn}`;
}

/**
 * Checks an attribute description (a name from settings, never user data) so
 * it can be placed in a filter or DN without escaping: a descriptor or an OID,
 * optionally with options (`member;range=0-1499`).
 */
export function attributeName(name: string): string {
  if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9=-]+)*$/.test(name)) {
    throw new RangeError(`not an LDAP attribute name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** One RDN of a parsed DN: attribute type and its unescaped value. */
export interface RdnPart {
  readonly attribute: string;
  readonly value: string;
}

/**
 * Splits a DN string into its RDNs (RFC 4514 §3), unescaping values: the
 * inverse of building with `childDn`. Multi-valued RDNs (`a=1+b=2`) yield
 * their first attribute only, as jml never creates them. Hex escapes are
 * decoded as UTF-8 bytes.
 */
export function parseDn(dn: string): readonly RdnPart[] {
  const parts: RdnPart[] = [];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new RangeError(`malformed DN: ${JSON.stringify(dn)}`);
    const attribute = dn.slice(i, eq).trim();
    const bytes: number[] = [];
    let skipRest = false;
    let j = eq + 1;
    for (; j < dn.length; j++) {
      const ch = dn[j]!;
      if (ch === '\\') {
        const hex = dn.slice(j + 1, j + 3);
        if (/^[0-9a-fA-F]{2}$/.test(hex)) {
          if (!skipRest) bytes.push(Number.parseInt(hex, 16));
          j += 2;
        } else {
          if (!skipRest) bytes.push(...Buffer.from(dn[j + 1] ?? '', 'utf8'));
          j += 1;
        }
      } else if (ch === ',' || ch === ';') {
        break;
      } else if (ch === '+') {
        skipRest = true;
      } else if (!skipRest) {
        bytes.push(...Buffer.from(ch, 'utf8'));
      }
    }
    parts.push({ attribute, value: Buffer.from(bytes).toString('utf8') });
    i = j + 1;
  }
  return parts;
}

/**
 * A comparison key for DNs: attribute types and values lower-cased, escapes
 * normalised, spaces around separators dropped. Good for the case-insensitive
 * attributes directories name entries with (cn, uid, ou, dc).
 */
export function dnKey(dn: string): string {
  // Fast paths for the common DN without escapes or multi-valued RDNs (grant listings compare 100k of them).
  if (!/[\\+;"<>#\0\s]/.test(dn) && !/(?:^|,)[^=,]*(?:,|$)/.test(dn)) {
    // No spaces to drop and an `=` in every RDN: the key is the DN lower-cased.
    return dn.toLowerCase();
  }
  if (!/[\\+;"<>#\0]/.test(dn)) {
    return dn
      .split(',')
      .map((rdn) => {
        const eq = rdn.indexOf('=');
        return `${rdn.slice(0, eq).trim().toLowerCase()}=${rdn.slice(eq + 1).trim().toLowerCase()}`;
      })
      .join(',');
  }
  return parseDn(dn)
    .map((rdn) => `${rdn.attribute.toLowerCase()}=${rdn.value === '' ? '' : dnValue(rdn.value.toLowerCase())}`)
    .join(',');
}

/** True when `dn` lies at or below `baseDn`. */
export function isUnder(dn: string, baseDn: string): boolean {
  const key = dnKey(dn);
  const base = dnKey(baseDn);
  return key === base || key.endsWith(`,${base}`);
}

/** The DN of the entry's parent: everything after the first unescaped separator. */
export function parentDn(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',' || dn[i] === ';') return dn.slice(i + 1).trimStart();
  }
  return '';
}
