/**
 * The real peers as a policy sees them: the `connector:` settings a
 * `systems.yaml` entry needs to reach an OpenLDAP or Samba AD peer, the
 * peers' secrets stored the way `jml secret set` stores them, and groups
 * made by hand as an administrator would. Each test keeps its own policy
 * (enforcement, templates, credentials); only the wiring to the peers lives
 * here.
 */
import { writeFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { createLdapConnector, type LdapConnector } from '../../src/connectors/ldap/index.ts';
import { putSecret, type Keyring } from '../../src/connectors/secrets/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { OpenLdapPeer } from '../peers/openldap.ts';
import type { SambaAdPeer } from '../peers/samba-ad.ts';
import type { ScimServer } from '../peers/scim-server.ts';
import { asAdmin } from './directory-clients.ts';

/**
 * Writes the directory's CA certificate to `caFile` and returns the YAML flow
 * mapping for `connector: { type: ldap|ad, settings: … }` (url, ca_file,
 * bind_dn, base_dn, users_ou, groups_ou). The bind password is a secret: see
 * {@link storePeerSecrets}.
 */
export function directorySettings(peer: OpenLdapPeer | SambaAdPeer, caFile: string): string {
  writeFileSync(caFile, peer.caPem);
  return `{ url: "${peer.url}", ca_file: "${caFile}", bind_dn: "${peer.bindDn}", base_dn: "${peer.baseDn}", users_ou: "${peer.usersOu}", groups_ou: "${peer.groupsOu}" }`;
}

/**
 * Stores each system's secret, bound to its peer's host: `bind_password` for a
 * directory, `token` for a SCIM server. Keys are the policy's system names.
 */
export async function storePeerSecrets(db: Kysely<Database>, keyring: Keyring, systems: Readonly<Record<string, OpenLdapPeer | SambaAdPeer | ScimServer>>): Promise<void> {
  for (const [system, peer] of Object.entries(systems)) {
    if ('token' in peer) await putSecret(db, keyring, system, 'token', peer.token, peer.url);
    else await putSecret(db, keyring, system, 'bind_password', peer.password, peer.url);
  }
}

/** Creates an empty group named `displayName` on the SCIM server, as an administrator would. */
export async function addScimGroup(scim: ScimServer, displayName: string): Promise<void> {
  const res = await fetch(`${scim.url}/Groups`, {
    method: 'POST', headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName }),
  });
  if (res.status !== 201) throw new Error(`the SCIM server refused the group ${displayName}: HTTP ${res.status}`);
}

/**
 * Creates empty groups in the directory's groups OU, as its administrator
 * would: a `groupOfNames` (with the placeholder member OpenLDAP requires) on
 * OpenLDAP, a `group` with that sAMAccountName on Samba AD.
 */
export async function addDirectoryGroups(peer: OpenLdapPeer | SambaAdPeer, names: readonly string[]): Promise<void> {
  await asAdmin(peer, async (admin) => {
    for (const name of names) {
      if ('realm' in peer) await admin.add(`CN=${name},${peer.groupsOu}`, { objectClass: ['top', 'group'], sAMAccountName: name });
      else await admin.add(`cn=${name},${peer.groupsOu}`, { objectClass: 'groupOfNames', cn: name, member: `cn=jml-empty-group-placeholder,${peer.baseDn}` });
    }
  });
}

/**
 * jml's LDAP connector pointed at a test OpenLDAP as its administrator, as most connector tests use it.
 * @example const ldap = openLdapConnectorFor(peer);
 */
export function openLdapConnectorFor(peer: OpenLdapPeer, system = 'corp-ldap'): LdapConnector {
  return createLdapConnector({
    system, flavour: 'openldap', url: peer.url, caPem: peer.caPem,
    bindDn: peer.bindDn, bindPassword: peer.password, baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu,
  });
}
