/**
 * docs/getting-started.md, followed to the letter. Its tagged code blocks —
 * ```sh run (commands) and ```yaml file=PATH / ```csv file=PATH (files to
 * write) — are run in order in one bash session, as a reader would type them
 * into one terminal, against an OpenLDAP server, a Samba AD domain controller
 * and a SCIM server started here. The only change made to the text is
 * replacing the placeholders the page's table documents (hosts, ports, CA
 * files, passwords, token). The install step is replaced by a `jml` on PATH
 * that runs this checkout. Afterwards the accounts and groups are checked
 * with each system's own tools: ldapsearch, and plain HTTP for SCIM.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { CLI } from '../support/run-cli.ts';

const DOC = join(import.meta.dirname, '../../docs/getting-started.md');

export interface DocBlock {
  readonly kind: 'run' | 'file';
  /** For files: the path the block names. */
  readonly path?: string;
  readonly text: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

/** The tagged blocks of a Markdown page, in order: ```sh run and ```<lang> file=PATH. Untagged blocks are prose. */
export function taggedBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const fence = /^```(\S*)([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(fence)) {
    const [, lang, info, body] = m;
    const line = markdown.slice(0, m.index).split('\n').length;
    const file = /(?:^|\s)file=(\S+)/.exec(info!);
    if (file) blocks.push({ kind: 'file', path: file[1]!, text: body!, line });
    else if (lang === 'sh' && /(?:^|\s)run(?:\s|$)/.test(info!)) blocks.push({ kind: 'run', text: body!, line });
  }
  return blocks;
}

/** The placeholders the page's "What you replace" table documents. */
function documentedPlaceholders(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `(<[A-Z_]+>)` \|/gm)].map((m) => m[1]!);
}

/** One bash session; each block's output, or the session's output when a command fails (`set -e`). */
function terminal(cwd: string, env: NodeJS.ProcessEnv) {
  const shell: ChildProcess = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  let exited: number | null = null;
  const waiters = new Set<() => void>();
  shell.stdout!.on('data', (d: Buffer) => { output += d.toString(); for (const w of waiters) w(); });
  shell.on('exit', (code) => { exited = code ?? -1; for (const w of waiters) w(); });
  shell.stdin!.write('set -e\nexec 2>&1\n');
  let n = 0;
  return {
    run(block: DocBlock, text: string): Promise<string> {
      const marker = `@@jml-docs-block-${++n}-done@@`;
      const from = output.length;
      shell.stdin!.write(`${text}\necho '${marker}'\n`);
      return new Promise((resolve, reject) => {
        const check = () => {
          const at = output.indexOf(marker, from);
          if (at >= 0) {
            waiters.delete(check);
            resolve(output.slice(from, at));
          } else if (exited !== null) {
            waiters.delete(check);
            reject(new Error(`the block at getting-started.md:${block.line} failed (exit ${exited}):\n${text}\n--- output ---\n${output.slice(from)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      shell.stdin!.end('exit 0\n');
    },
  };
}

/** ldapsearch as the directory's administrator, over StartTLS with its CA: the directory's own view. */
function ldapsearch(peer: OpenLdapPeer | SambaAdPeer, caFile: string, base: string, filter: string, attributes: readonly string[]): string {
  return execFileSync('ldapsearch', ['-x', '-ZZ', '-LLL', '-o', 'ldif-wrap=no', '-H', peer.url, '-D', peer.bindDn, '-w', peer.password, '-b', base, filter, ...attributes], {
    env: { ...process.env, LDAPTLS_CACERT: caFile }, encoding: 'utf8',
  });
}

describe('the walkthrough runner', () => {
  test('tagged blocks are found in order; untagged and text blocks are prose', () => {
    const blocks = taggedBlocks('intro\n```sh\nnpm install\n```\n```sh run\njml init\n```\n```yaml file=policy/a.yaml\nsystems: []\n```\n```text\nout\n```\n');
    assert.deepEqual(blocks.map((b) => [b.kind, b.path ?? '', b.text, b.line]), [['run', '', 'jml init\n', 5], ['file', 'policy/a.yaml', 'systems: []\n', 8]]);
  });

  test('a command that fails stops the session and the error names the block and its output', async () => {
    const shell = terminal(mkdtempSync(join(tmpdir(), 'jml-docs-runner-')), { PATH: process.env.PATH });
    try {
      assert.equal(await shell.run({ kind: 'run', text: '', line: 1 }, 'echo one'), 'one\n');
      await assert.rejects(shell.run({ kind: 'run', text: '', line: 42 }, 'echo two\nfalse\necho never'), /getting-started\.md:42 failed \(exit 1\)[\s\S]*--- output ---\ntwo\n$/);
    } finally {
      shell.close();
    }
  });
});

describe('docs/getting-started.md, run as written', { skip: openLdapSkipReason() || sambaAdSkipReason() }, () => {
  const markdown = readFileSync(DOC, 'utf8');
  const blocks = taggedBlocks(markdown);
  const home = mkdtempSync(join(tmpdir(), 'jml-docs-'));
  let ldap: OpenLdapPeer;
  let ad: SambaAdPeer;
  let scim: ScimServer;
  let values: Record<string, string> = {};
  const outputs: { block: DocBlock; output: string }[] = [];

  before(async () => {
    [ldap, ad, scim] = await Promise.all([startOpenLdap(), startSambaAd(), startScimServer()]);
    mkdirSync(join(home, 'ca'));
    writeFileSync(join(home, 'ca', 'ldap.pem'), ldap.caPem);
    writeFileSync(join(home, 'ca', 'ad.pem'), ad.caPem);
    values = {
      '<LDAP_HOST_PORT>': new URL(ldap.url).host,
      '<LDAP_CA_FILE>': join(home, 'ca', 'ldap.pem'),
      '<LDAP_BIND_PASSWORD>': ldap.password,
      '<AD_HOST_PORT>': new URL(ad.url).host,
      '<AD_CA_FILE>': join(home, 'ca', 'ad.pem'),
      '<AD_BIND_PASSWORD>': ad.password,
      '<SCIM_BASE_URL>': scim.url,
      '<SCIM_TOKEN>': scim.token,
    };
    // The directories the page names: the harness's peers must be the page's example directories.
    assert.equal(ldap.baseDn, 'dc=example,dc=org');
    assert.equal(ldap.bindDn, 'cn=admin,dc=example,dc=org');
    assert.equal(ad.baseDn, 'DC=samdom,DC=example,DC=com');
    assert.equal(ad.bindDn, 'CN=Administrator,CN=Users,DC=samdom,DC=example,DC=com');
  });
  after(async () => {
    await Promise.all([ldap?.stop(), ad?.stop(), scim?.stop()]);
  });

  test('the page documents exactly the placeholders its blocks use', () => {
    const used = [...new Set(blocks.flatMap((b) => [...b.text.matchAll(/<[A-Z_]+>/g)].map((m) => m[0])))].sort();
    assert.deepEqual(used, documentedPlaceholders(markdown).sort());
    assert.ok(blocks.filter((b) => b.kind === 'run').length >= 8, 'the page has its run blocks');
  });

  test('every block runs: each system test passes, and the first apply converges', async () => {
    const bin = join(home, 'bin');
    mkdirSync(bin);
    // Stands in for `npm link`: a `jml` that runs this checkout with the pinned Node.js.
    writeFileSync(join(bin, 'jml'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, 'jml'), 0o755);
    const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: home, LANG: 'C.UTF-8', NODE_OPTIONS: '' };
    const shell = terminal(home, env);
    try {
      for (const block of blocks) {
        let text = block.text;
        for (const [placeholder, value] of Object.entries(values)) text = text.split(placeholder).join(value);
        if (block.kind === 'file') {
          // Written by the shell, so the path is relative to wherever the page has cd'd to.
          outputs.push({ block, output: await shell.run(block, `cat > '${block.path}' <<'JML_DOC_FILE'\n${text}JML_DOC_FILE`) });
        } else {
          outputs.push({ block, output: await shell.run(block, text) });
        }
      }
    } finally {
      shell.close();
    }
    const all = outputs.map((o) => o.output).join('\n');
    for (const system of ['directory (ldap)', 'corp-ad (ad)', 'app (scim)']) assert.match(all, new RegExp(`^${system.replace(/[()]/g, '\\$&')}: ok$`, 'm'), `jml system test passes for ${system}`);
    assert.match(all, /dnsHostName: dc1\.samdom\.example\.com/i, 'the AD test names the domain controller');
    assert.match(all, /nothing to do: every system holds what policy desires/, 'the plan after apply and reconcile is empty');
  });

  test('the accounts and groups are in each system, as its own tools show', async () => {
    assert.ok(outputs.length > 0, 'the walkthrough ran');
    const people = ldapsearch(ldap, values['<LDAP_CA_FILE>']!, 'ou=people,dc=example,dc=org', '(objectClass=inetOrgPerson)', ['uid', 'employeeNumber']);
    for (const [uid, key] of [['ada.lovelace', '1001'], ['alan.turing', '1002'], ['grace.hopper', '1003']]) {
      assert.match(people, new RegExp(`dn: uid=${uid},ou=people,dc=example,dc=org\\nuid: ${uid}\\nemployeeNumber: ${key}`));
    }
    const staff = ldapsearch(ldap, values['<LDAP_CA_FILE>']!, 'ou=groups,dc=example,dc=org', '(cn=staff)', ['member']);
    for (const uid of ['ada.lovelace', 'alan.turing', 'grace.hopper']) assert.match(staff, new RegExp(`member: uid=${uid},ou=people`));
    const finance = ldapsearch(ldap, values['<LDAP_CA_FILE>']!, 'ou=groups,dc=example,dc=org', '(cn=dept-finance)', ['member']);
    assert.match(finance, /member: uid=grace\.hopper,ou=people/);
    assert.doesNotMatch(finance, /alan\.turing/);

    const adUser = ldapsearch(ad, values['<AD_CA_FILE>']!, ad.baseDn, '(employeeID=1002)', ['sAMAccountName', 'userAccountControl', 'memberOf']);
    assert.match(adUser, /sAMAccountName: alan\.turing/);
    assert.match(adUser, /userAccountControl: 512/);
    assert.match(adUser, /memberOf: CN=ad-engineering,CN=Users,DC=samdom,DC=example,DC=com/);

    const res = await fetch(`${scim.url}/Users?filter=${encodeURIComponent('externalId eq "1003"')}`, { headers: { authorization: `Bearer ${scim.token}` } });
    const users = (await res.json()) as { Resources: { userName: string; active: boolean }[] };
    assert.deepEqual(users.Resources.map((u) => [u.userName, u.active]), [['grace.hopper@example.org', true]]);
    const groups = (await (await fetch(`${scim.url}/Groups`, { headers: { authorization: `Bearer ${scim.token}` } })).json()) as { Resources: { displayName: string; members?: unknown[] }[] };
    assert.deepEqual(groups.Resources.map((g) => [g.displayName, g.members?.length ?? 0]).sort(), [['app-engineering', 2], ['app-finance', 1]]);
  });
});
