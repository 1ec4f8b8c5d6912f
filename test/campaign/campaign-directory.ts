/**
 * The real-directory target of the fault campaign: the fakes of the
 * single-process target plus a real OpenLDAP (`dir`), started for the
 * history by the peers harness, stopped before an apply and started again
 * at a random moment during it, and read at the end with `ldapsearch` —
 * the directory's own tool, not jml's connector.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openPolicyConnectors, type PolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import type { Store } from '../../src/store/open-store.ts';
import { startOpenLdap } from '../peers/openldap.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';
import { countFault, inProcessTarget, plannerOf, type CampaignTarget, type SystemAccount } from './campaign-world.ts';

/** Starts an OpenLDAP for one history; `dir` holds its CA file. */
export async function directoryTarget(store: Store, dir: string): Promise<CampaignTarget> {
  const peer = await startOpenLdap();
  await addDirectoryGroups(peer, ['staff', 'eng']);
  const keyring = createKeyring(masterKey(randomBytes(32)));
  await storePeerSecrets(store.db, keyring, { dir: peer });
  const settings = directorySettings(peer, path.join(dir, 'ca.pem'));
  let connectors: PolicyConnectors | null = null;
  return inProcessTarget({
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
    connectorFor: (system) => (system === 'dir' ? connectors?.get('dir') : undefined),
    async beforeApply(world, faults) {
      if (!connectors) {
        const { policy } = await plannerOf(world).loadPolicy();
        connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'campaign' }, ['dir']);
      }
      if (faults.directoryDownMs === null) return async () => undefined;
      await peer.halt();
      countFault(world, 'directory_restarted');
      const back = new Promise<void>((resolve, reject) => setTimeout(() => peer.restart().then(resolve, reject), faults.directoryDownMs!));
      return () => back;
    },
    accounts: async () => new Map([['dir', readDirectory(peer)]]),
    async close() {
      await connectors?.close();
      await peer.stop();
    },
  });
}

/** Accounts under the users OU (correlated by employeeNumber) and the groups naming them, as `ldapsearch` shows them. */
function readDirectory(peer: Awaited<ReturnType<typeof startOpenLdap>>): SystemAccount[] {
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
