/**
 * The real-directory targets of the fault campaign: a real OpenLDAP (`dir`),
 * started for the history by the peers harness, stopped before an apply and
 * started again at a random moment during it, and read at the end with
 * `ldapsearch` — the directory's own tool, not jml's connector — beside the
 * fakes applied in this process, or beside the simulated systems of worker
 * processes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { openPolicyConnectors, type PolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { createKeyring, masterKey, type Keyring } from '../../src/connectors/secrets/index.ts';
import type { Store } from '../../src/store/open-store.ts';
import { startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';
import type { SyncFaults } from './campaign-generator.ts';
import type { CampaignStore } from './campaign-database.ts';
import { processTarget } from './campaign-processes.ts';
import { countFault, inProcessTarget, plannerOf, type CampaignTarget, type PolicyExtra, type SystemAccount, type World } from './campaign-world.ts';

/** An OpenLDAP started for one history, with what a target needs of it. */
interface CampaignDirectory {
  readonly peer: OpenLdapPeer;
  readonly keyring: Keyring;
  /** The `dir` system, its groups and rules, for the history's policy. */
  readonly policy: PolicyExtra;
  /** Before an apply: stops the directory if the faults say so; the function returned waits until it is back. */
  outage(world: World, faults: SyncFaults): Promise<() => Promise<void>>;
}

/** Starts an OpenLDAP for one history, its bind password stored as `jml secret set` stores it; `dir` holds its CA file. */
async function startDirectory(store: Store, dir: string): Promise<CampaignDirectory> {
  const peer = await startOpenLdap();
  await addDirectoryGroups(peer, ['staff', 'eng']);
  const keyring = createKeyring(masterKey(randomBytes(32)));
  await storePeerSecrets(store.db, keyring, { dir: peer });
  const settings = directorySettings(peer, path.join(dir, 'ca.pem'));
  return {
    peer,
    keyring,
    policy: {
      systems: `  - name: dir
    connector: { type: ldap, settings: ${settings} }
    owner: M00
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "u{key|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
`,
      entitlements: '  - { system: dir, name: staff }\n  - { system: dir, name: eng }\n',
      rules: (engineeringRule) => `  - name: directory
    when: { kind: [employee] }
    grant: { entitlements: ["dir:staff"] }
${engineeringRule ? `  - name: directory-engineering
    when: { equals: { department: Engineering } }
    grant: { entitlements: ["dir:eng"] }
` : ''}`,
    },
    async outage(world, faults) {
      if (faults.directoryDownMs === null) return async () => undefined;
      await peer.halt();
      countFault(world, 'directory_restarted');
      const back = new Promise<void>((resolve, reject) => setTimeout(() => peer.restart().then(resolve, reject), faults.directoryDownMs!));
      return () => back;
    },
  };
}

/** The fakes of the single-process target plus a real OpenLDAP (`dir`), applied in this process; `dir` holds its CA file. */
export async function directoryTarget(store: Store, dir: string): Promise<CampaignTarget> {
  const directory = await startDirectory(store, dir);
  let connectors: PolicyConnectors | null = null;
  return inProcessTarget({
    policy: directory.policy,
    connectorFor: (system) => (system === 'dir' ? connectors?.get('dir') : undefined),
    async beforeApply(world, faults) {
      if (!connectors) {
        const { policy } = await plannerOf(world).loadPolicy();
        connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => directory.keyring, actor: 'campaign' }, ['dir']);
      }
      return directory.outage(world, faults);
    },
    accounts: async () => new Map([['dir', readDirectory(directory.peer)]]),
    async close() {
      await connectors?.close();
      await directory.peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/**
 * Worker processes on PostgreSQL (campaign-processes.ts) with a real OpenLDAP
 * (`dir`) beside the simulated systems: the workers open it from the
 * history's policy, as `jml worker` does, and the campaign stops and starts it
 * under them. `dir` holds the CA file and the workers' chaos settings.
 */
export async function directoryProcessTarget(store: CampaignStore, databaseUrl: string, dir: string): Promise<CampaignTarget> {
  const directory = await startDirectory(store, dir);
  return processTarget(store, databaseUrl, dir, {
    policy: directory.policy,
    env: { CAMPAIGN_REAL_SYSTEMS: 'dir', JML_MASTER_KEY: directory.keyring.current.key.export().toString('base64') },
    beforeApply: (world, faults) => directory.outage(world, faults),
    accounts: async () => new Map([['dir', readDirectory(directory.peer)]]),
    close: () => directory.peer.stop(),
  });
}

/** Accounts under the users OU (correlated by employeeNumber) and the groups naming them, as `ldapsearch` shows them. */
function readDirectory(peer: OpenLdapPeer): SystemAccount[] {
  const search = (base: string, ...attributes: string[]) => parseLdif(execFileSync('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', peer.url, '-D', peer.bindDn, '-w', peer.password, '-b', base, '-E', 'pr=1000/noprompt', '(objectClass=*)', ...attributes], { encoding: 'utf8' }));
  const groups = search(peer.groupsOu, 'cn', 'member').filter((g) => g.cn);
  return search(peer.usersOu, 'employeeNumber', 'pwdAccountLockedTime')
    .filter((e) => e.employeeNumber)
    .map((e) => ({
      identityKey: e.employeeNumber![0]!,
      accountId: e.dn![0]!,
      enabled: !e.pwdAccountLockedTime,
      grants: groups.filter((g) => (g.member ?? []).some((m) => m.toLowerCase() === e.dn![0]!.toLowerCase())).map((g) => g.cn![0]!).sort(),
    }));
}

function parseLdif(text: string): Record<string, string[]>[] {
  return text.split(/\n\n+/).filter((block) => block.trim()).map((block) => {
    const entry: Record<string, string[]> = {};
    for (const line of block.split('\n')) {
      const match = /^([A-Za-z]+):(:?) ?(.*)$/.exec(line);
      if (!match) continue;
      const value = match[2] ? Buffer.from(match[3]!, 'base64').toString('utf8') : match[3]!;
      (entry[match[1]!] ??= []).push(value);
    }
    return entry;
  });
}
