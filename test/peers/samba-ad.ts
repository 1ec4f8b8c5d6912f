/**
 * A throwaway Samba Active Directory domain controller on 127.0.0.1 for
 * tests: provisioned into a temp dir with network services trimmed (no DNS,
 * NetBIOS, WINS, NTP signing, file server) so nothing leaves the machine, our
 * own CA and server certificate installed before the first start, LDAPS on
 * 636 and StartTLS on 389. AD ports are fixed, so one instance per machine,
 * and it needs root: every start takes a machine-wide lock (test/peers/
 * peer-lock.ts) that `stop` releases, so test files running in parallel
 * processes take turns instead of colliding on the ports. The provisioned
 * state is cached in the temp dir across test processes; each start runs on
 * a fresh copy of it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestTls } from './tls.ts';
import { acquirePeerLock } from './peer-lock.ts';
import { findBinary, peerSkipReason, spawnPeer, waitForPort } from './peer-process.ts';

export interface SambaAdPeer {
  /** ldap://127.0.0.1:389 — simple binds need StartTLS here. */
  readonly url: string;
  readonly ldapsUrl: string;
  readonly baseDn: string;
  readonly usersOu: string;
  readonly groupsOu: string;
  readonly realm: string;
  readonly bindDn: string;
  readonly password: string;
  readonly caPem: string;
  readonly dir: string;
  stop(): Promise<void>;
}

const REALM = 'SAMDOM.EXAMPLE.COM';
const BASE_DN = 'DC=samdom,DC=example,DC=com';
const HOST = 'dc1';
const SERVICES = 'server services = -s3fs -nbt -wrepl -dns -dnsupdate -ntp_signd -kcc';

/** Why Samba AD tests cannot run here, or false. */
export function sambaAdSkipReason(): string | false {
  return peerSkipReason('Samba AD', ['samba', 'samba-tool', 'openssl', 'flock'], true);
}

/** Provisioned state shared by test processes: provisioning takes seconds, copying it a second. */
const PRISTINE = join(tmpdir(), `jml-samba-pristine-v1-${process.getuid?.() ?? 0}`);

function pristineState(): { dir: string; password: string } {
  const marker = join(PRISTINE, 'jml-ready.json');
  if (existsSync(marker)) return { dir: PRISTINE, password: (JSON.parse(readFileSync(marker, 'utf8')) as { password: string }).password };
  const dir = mkdtempSync(join(tmpdir(), 'jml-samba-provision-'));
  const password = `Jml-${randomBytes(9).toString('base64url')}9a!`;
  provision(dir, password);
  const rewritten = join(dir, 'etc', 'smb.conf');
  writeFileSync(rewritten, readFileSync(rewritten, 'utf8').split(dir).join(PRISTINE));
  writeFileSync(join(dir, 'jml-ready.json'), JSON.stringify({ password }));
  try {
    renameSync(dir, PRISTINE);
  } catch {
    // Another process got there first: use theirs.
    rmSync(dir, { recursive: true, force: true });
  }
  return pristineState();
}

async function portInUse(port: number): Promise<boolean> {
  return waitForPort(port, 0).then(() => true, () => false);
}

function provision(dir: string, password: string): void {
  const seed = join(dir, 'empty-seed.conf');
  writeFileSync(seed, '');
  const options = [
    'interfaces=127.0.0.1', 'bind interfaces only=yes',
    `pid directory=${dir}/run`, `lock directory=${dir}/lock`, `state directory=${dir}/state`, `cache directory=${dir}/cache`,
    `ncalrpc dir=${dir}/run/ncalrpc`, `winbindd socket directory=${dir}/run/winbindd`, `log file=${dir}/log.%m`,
    SERVICES.replace(' = ', '='),
  ];
  execFileSync(findBinary('samba-tool')!, [
    'domain', 'provision', '-s', seed, '--use-rfc2307', '--server-role=dc', '--dns-backend=SAMBA_INTERNAL',
    `--realm=${REALM}`, '--domain=SAMDOM', `--host-name=${HOST}`, '--host-ip=127.0.0.1', `--adminpass=${password}`,
    `--targetdir=${dir}`, ...options.map((o) => `--option=${o}`),
  ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const tls = makeTestTls(join(dir, 'private', 'tls'), [`${HOST}.${REALM.toLowerCase()}`]);
  const conf = join(dir, 'etc', 'smb.conf');
  const extra = [
    '\ttls enabled = yes', `\ttls keyfile = ${tls.keyFile}`, `\ttls certfile = ${tls.certFile}`, `\ttls cafile = ${tls.caFile}`,
    '\tldap server require strong auth = yes', '\tlog level = 0',
  ].join('\n');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('[global]', `[global]\n${extra}`));
}

export interface SambaAdOptions {
  /** How long to wait for another test process's DC to stop (default 10 minutes, or JML_SAMBA_LOCK_TIMEOUT_MS). */
  readonly lockTimeoutMs?: number;
}

/**
 * Waits for the machine's Samba AD lock, provisions (or copies the cached
 * provisioned state) and starts `samba` in the foreground; resolves when LDAP
 * and LDAPS accept connections. `stop` ends it and releases the lock.
 */
export async function startSambaAd(options: SambaAdOptions = {}): Promise<SambaAdPeer> {
  const samba = findBinary('samba');
  if (!samba) throw new Error('samba not installed (run test/peers/install-debian.sh as root)');
  // The lock is not reentrant: a second DC in this process would wait for itself.
  if (runningHere) throw new Error('this process already runs a Samba AD DC (one per machine): share that one');
  runningHere = true;
  const timeoutMs = options.lockTimeoutMs ?? (Number(process.env.JML_SAMBA_LOCK_TIMEOUT_MS) || 600_000);
  let lock: Awaited<ReturnType<typeof acquirePeerLock>> | null = null;
  const release = async () => {
    runningHere = false;
    await lock?.release();
  };
  try {
    lock = await acquirePeerLock('samba-ad', timeoutMs);
    return await startLocked(samba, release);
  } catch (error) {
    await release();
    throw error;
  }
}

let runningHere = false;

async function startLocked(samba: string, release: () => Promise<void>): Promise<SambaAdPeer> {
  for (const port of [389, 636]) {
    // The previous holder's DC has exited; give the kernel a moment, then complain.
    for (let i = 0; i < 20 && (await portInUse(port)); i++) await new Promise((r) => setTimeout(r, 250));
    if (await portInUse(port)) throw new Error(`127.0.0.1:${port} is taken by something that does not take the Samba AD lock: stop whatever holds it (only one AD DC per machine)`);
  }
  const pristine = pristineState();
  const dir = mkdtempSync(join(tmpdir(), 'jml-samba-'));
  // cp -a keeps the 0700 modes samba insists on (fs.cpSync does not).
  execFileSync('cp', ['-a', `${pristine.dir}/.`, dir]);
  rmSync(join(dir, 'jml-ready.json'));
  // Paths in smb.conf point at the pristine copy: rewrite them.
  const conf = join(dir, 'etc', 'smb.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').split(pristine.dir).join(dir));

  const proc = spawnPeer(samba, ['-i', '-M', 'single', '-s', conf, '--debuglevel=0']);
  try {
    await waitForPort(389, 30_000, proc.child);
    await waitForPort(636, 30_000, proc.child);
  } catch (error) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`samba did not start: ${(error as Error).message}\n${proc.output()}`);
  }
  let stopped: Promise<void> | null = null;
  return {
    url: 'ldap://127.0.0.1:389',
    ldapsUrl: 'ldaps://127.0.0.1:636',
    baseDn: BASE_DN,
    usersOu: `CN=Users,${BASE_DN}`,
    groupsOu: `CN=Users,${BASE_DN}`,
    realm: REALM,
    bindDn: `CN=Administrator,CN=Users,${BASE_DN}`,
    password: pristine.password,
    caPem: readFileSync(join(dir, 'private', 'tls', 'ca.pem'), 'utf8'),
    dir,
    stop: () => (stopped ??= (async () => {
      try {
        await proc.stop(5000);
        rmSync(dir, { recursive: true, force: true });
      } finally {
        await release();
      }
    })()),
  };
}
