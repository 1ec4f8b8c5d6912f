/**
 * A throwaway OpenLDAP slapd for tests and benchmarks: its own cn=config made
 * with `slapadd -n0`, an mdb database (no fsync), schemas core/cosine/nis/
 * inetorgperson, the memberof and ppolicy overlays, LDAPS and StartTLS with a
 * test CA, on free ports of 127.0.0.1. Never touches /etc/ldap.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestTls } from './tls.ts';
import { findBinary, freePort, peerSkipReason, spawnPeer, waitForPort, type PeerProcess } from './peer-process.ts';

export interface OpenLdapPeer {
  /** ldap:// URL (StartTLS available). */
  readonly url: string;
  readonly ldapsUrl: string;
  readonly baseDn: string;
  readonly usersOu: string;
  readonly groupsOu: string;
  /** The rootdn: unlimited, bypasses ACLs and password policy. */
  readonly bindDn: string;
  readonly password: string;
  readonly caPem: string;
  readonly dir: string;
  /** Stops the server as an outage would, keeping its data and ports. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same ports and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PreloadPeople {
  /** inetOrgPerson entries uid=user000001… under the users OU. */
  readonly people: number;
  /** groupOfNames entries cn=group0001…; each holds `membersPerGroup` people. */
  readonly groups?: number;
  readonly membersPerGroup?: number;
}

export interface StartOpenLdapOptions {
  readonly baseDn?: string;
  /** Bulk-load entries with `slapadd -q` before the server starts. */
  readonly preload?: PreloadPeople;
}

/** Why OpenLDAP tests cannot run here, or false. */
export function openLdapSkipReason(): string | false {
  return peerSkipReason('OpenLDAP', ['slapd', 'slapadd', 'ldapsearch', 'ldapadd', 'openssl']);
}

const SCHEMAS = ['core', 'cosine', 'nis', 'inetorgperson'];

function configLdif(dir: string, baseDn: string, rootDn: string, password: string): string {
  const includes = SCHEMAS.map((s) => `include: file:///etc/ldap/schema/${s}.ldif`).join('\n');
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
olcTLSCACertificateFile: ${dir}/tls/ca.pem
olcTLSCertificateFile: ${dir}/tls/server.pem
olcTLSCertificateKeyFile: ${dir}/tls/server.key
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

${includes}

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=${process.getuid?.() ?? 0}+uidNumber=${process.getuid?.() ?? 0},cn=peercred,cn=external,cn=auth manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: ${dir}/data
olcSuffix: ${baseDn}
olcRootDN: ${rootDn}
olcRootPW: ${password}
olcDbNoSync: TRUE
olcDbMaxSize: 8589934592
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,employeeNumber,mail eq
olcDbIndex: member,memberOf eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={1}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {1}ppolicy
olcPPolicyDefault: cn=default,ou=policies,${baseDn}
olcPPolicyHashCleartext: TRUE
`;
}

function baseLdif(baseDn: string): string {
  const dc = /^dc=([^,]+)/i.exec(baseDn)?.[1] ?? 'example';
  return `dn: ${baseDn}
objectClass: dcObject
objectClass: organization
dc: ${dc}
o: ${dc}

dn: ou=people,${baseDn}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${baseDn}
objectClass: organizationalUnit
ou: groups

dn: ou=disabled,${baseDn}
objectClass: organizationalUnit
ou: disabled

dn: ou=policies,${baseDn}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,${baseDn}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE

`;
}

/** The LDIF of one test person, as the bench and the bulk loader write it. */
export function personLdif(usersOu: string, n: number): string {
  const id = String(n).padStart(6, '0');
  return `dn: uid=user${id},${usersOu}
objectClass: inetOrgPerson
uid: user${id}
cn: User ${id}
sn: ${id}
givenName: User
mail: user${id}@example.org
employeeNumber: E${id}

`;
}

async function writePreload(file: string, baseDn: string, preload: PreloadPeople): Promise<void> {
  const usersOu = `ou=people,${baseDn}`;
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  for (let n = 1; n <= preload.people; n++) await write(personLdif(usersOu, n));
  const members = Math.max(1, preload.membersPerGroup ?? 10);
  for (let g = 1; g <= (preload.groups ?? 0); g++) {
    const lines = [`dn: cn=group${String(g).padStart(4, '0')},ou=groups,${baseDn}`, 'objectClass: groupOfNames', `cn: group${String(g).padStart(4, '0')}`];
    for (let m = 0; m < members; m++) {
      const n = ((g * 7919 + m * 104729) % Math.max(1, preload.people)) + 1;
      lines.push(`member: uid=user${String(n).padStart(6, '0')},${usersOu}`);
    }
    await write(`${[...new Set(lines)].join('\n')}\n\n`);
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Starts slapd in a fresh temp dir and resolves when it accepts connections.
 * `stop()` kills its process group and removes the dir.
 */
export async function startOpenLdap(options: StartOpenLdapOptions = {}): Promise<OpenLdapPeer> {
  const slapd = findBinary('slapd');
  const slapadd = findBinary('slapadd');
  if (!slapd || !slapadd) throw new Error('slapd/slapadd not installed (run test/peers/install-debian.sh as root)');
  const baseDn = options.baseDn ?? 'dc=example,dc=org';
  const bindDn = `cn=admin,${baseDn}`;
  const password = randomBytes(12).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'jml-slapd-'));
  const confDir = join(dir, 'slapd.d');
  mkdirSync(confDir);
  mkdirSync(join(dir, 'data'));
  const tls = makeTestTls(join(dir, 'tls'));

  writeFileSync(join(dir, 'config.ldif'), configLdif(dir, baseDn, bindDn, password));
  execFileSync(slapadd, ['-n0', '-F', confDir, '-l', join(dir, 'config.ldif')], { stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(dir, 'base.ldif'), baseLdif(baseDn));
  if (options.preload) await writePreload(join(dir, 'preload.ldif'), baseDn, options.preload);
  const loadArgs = ['-q', '-n1', '-F', confDir, '-l'];
  execFileSync(slapadd, [...loadArgs, join(dir, 'base.ldif')], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (options.preload) {
    execFileSync(slapadd, [...loadArgs, join(dir, 'preload.ldif')], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(join(dir, 'preload.ldif'));
  }

  const port = await freePort();
  const tlsPort = await freePort();
  const ldapi = encodeURIComponent(join(dir, 'ldapi'));
  const urls = `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/ ldapi://${ldapi}`;
  const launch = async (): Promise<PeerProcess> => {
    const started = spawnPeer(slapd, ['-d', '0', '-h', urls, '-F', confDir]);
    try {
      await waitForPort(port, 10_000, started.child);
      await waitForPort(tlsPort, 10_000, started.child);
    } catch (error) {
      await started.stop();
      throw new Error(`slapd did not start: ${(error as Error).message}\n${started.output()}`);
    }
    return started;
  };
  let proc: PeerProcess | null = await launch();
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
    baseDn,
    usersOu: `ou=people,${baseDn}`,
    groupsOu: `ou=groups,${baseDn}`,
    bindDn,
    password,
    caPem: tls.caPem,
    dir,
    halt: async () => {
      await proc?.stop();
      proc = null;
    },
    restart: async () => {
      proc ??= await launch();
    },
    stop: async () => {
      await proc?.stop();
      proc = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
