/**
 * `jml serve`: the API, the web console and (with --workers) the job workers,
 * on the embedded PGlite by default or DATABASE_URL. On first start it
 * creates the `admin` user and prints its generated password once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildApiServer } from '../../api/api-server.ts';
import { logLevelFromEnv } from '../../api/api-logger.ts';
import { createApiMetrics } from '../../api/api-metrics.ts';
import { ensureFirstAdmin } from '../../api/auth/user-store.ts';
import { createConsoleServices } from '../../api/console-services.ts';
import { scheduleBackups } from '../../app/backup/backup-schedule.ts';
import { createPlanner } from '../../app/compute-plan.ts';
import { apiBatchRunner, BATCH_LEASE_MS, resumeBatches } from '../../app/inbound/scim-batch.ts';
import { loadDemo } from '../../app/load-demo.ts';
import { JmlError } from '../../domain/errors.ts';
import { parseTrustProxy, type TrustProxy } from '../../api/trust-proxy.ts';
import type { ReplanQueue } from '../../app/replan-follow-up.ts';
import { openReplanQueue, replanQueueOn } from '../../jobs/replan-queue.ts';
import { startWorkerRuntime } from '../../jobs/worker-runtime.ts';
import type { Workers } from '../../jobs/workers.ts';
import { printLine, type CliContext } from '../cli-context.ts';
import { printDemoSummary, summariseDemo } from './demo-command.ts';
import type { MfaPolicy } from '../../api/auth/mfa-policy.ts';
import type { RelyingParty } from '../../api/auth/passkey-factor.ts';
import { keyringFromEnv, type Keyring } from '../../connectors/secrets/master-keyring.ts';
import type { JmlConfig } from '../../app/config.ts';

/**
 * The multi-factor policy this server enforces: the configuration's, except under --demo, where nobody is
 * required to enrol (the demo's admin password is printed and its data is made up) and a warning says so.
 * Factors enrolled in a demo are still asked for.
 */
export function servedMfaPolicy(config: Pick<JmlConfig, 'mfa'>, demo: boolean): MfaPolicy {
  return { requiredRoles: demo ? [] : config.mfa.required_roles, stepUpMs: config.mfa.step_up_minutes * 60_000 };
}

/** The master keyring when one is configured (a malformed one is an error); null when none is. */
function optionalKeyring(env: NodeJS.ProcessEnv): Keyring | null {
  return env.JML_MASTER_KEY || env.JML_MASTER_KEY_FILE ? keyringFromEnv(env) : null;
}

/** Passkeys belong to a host name: JML_PUBLIC_URL's, else `localhost` on the listening port (browsers refuse IP addresses). */
function relyingPartyFor(publicUrl: string | undefined, port: number): RelyingParty {
  if (publicUrl) {
    const url = new URL(publicUrl);
    return { rpId: url.hostname, origins: [url.origin], name: 'jml' };
  }
  return { rpId: 'localhost', origins: [`http://localhost:${port}`], name: 'jml' };
}

const WEB_ROOT = path.resolve(import.meta.dirname, '../../../web');
/** What the console build is made from; a newer file than the built index.html means the build is stale. */
const WEB_INPUTS = ['src', 'index.html', 'vite.config.ts', '../package-lock.json'];

function newestMtime(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(target).reduce((newest, name) => Math.max(newest, newestMtime(path.join(target, name))), stat.mtimeMs);
}

/** Whether web/dist is missing or older than any file it is built from. */
export function consoleBuildState(webRoot = WEB_ROOT): 'fresh' | 'missing' | 'stale' {
  const index = path.join(webRoot, 'dist', 'index.html');
  if (!existsSync(index)) return 'missing';
  const built = statSync(index).mtimeMs;
  return WEB_INPUTS.some((input) => newestMtime(path.join(webRoot, input)) > built) ? 'stale' : 'fresh';
}

/**
 * Builds the console with vite (offline: everything it needs is in
 * node_modules) when web/dist is missing or stale; returns the directory to
 * serve, or null to serve the API only.
 */
export function ensureConsoleBuilt(log: (line: string) => void, webRoot = WEB_ROOT): string | null {
  const dist = path.join(webRoot, 'dist');
  const state = consoleBuildState(webRoot);
  if (state === 'fresh') return dist;
  const vite = path.resolve(webRoot, '../node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) {
    log(state === 'missing' ? 'The web console is not built and vite is not installed (npm install without --omit=dev): serving the API only.' : 'The web console build is older than its sources and vite is not installed: serving the old build.');
    return state === 'stale' ? dist : null;
  }
  log(`${state === 'missing' ? 'Building the web console (first start)' : 'Rebuilding the web console (its sources changed)'} into ${path.relative(process.cwd(), dist) || dist} — offline, about 10 s…`);
  const started = performance.now();
  const built = spawnSync(process.execPath, [vite, 'build', webRoot, '--logLevel', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (built.status !== 0) {
    log(`The web console build failed (exit ${built.status ?? built.signal}): ${state === 'stale' ? 'serving the old build' : 'serving the API only'}.`);
    return state === 'stale' && existsSync(path.join(dist, 'index.html')) ? dist : null;
  }
  log(`Built the web console in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  return dist;
}

function printMfaNotes(ctx: CliContext, mfa: MfaPolicy, totp: boolean, rp: RelyingParty): void {
  if (mfa.requiredRoles.length === 0) {
    printLine(ctx, 'WARNING: multi-factor sign-in is NOT required on this server (--demo). Without --demo, admin, security and hr must enrol a passkey or an authenticator app (mfa.required_roles in jml.config.yaml).');
  } else {
    printLine(ctx, `Multi-factor sign-in is required for: ${mfa.requiredRoles.join(', ')}. At their first sign-in they enrol a passkey or an authenticator app.`);
  }
  printLine(ctx, `Passkeys work at ${rp.origins.join(', ')}${process.env.JML_PUBLIC_URL ? '' : ' (set JML_PUBLIC_URL to the address people use)'}.`);
  if (!totp) printLine(ctx, 'Authenticator apps (TOTP) need a master key to encrypt their secrets: set JML_MASTER_KEY or JML_MASTER_KEY_FILE to offer them.');
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP API and the web console (and job workers with --workers)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', (v) => Number.parseInt(v, 10), Number(process.env.PORT ?? 8080))
    .option('--demo', 'load the demo organisation first (once)')
    .option('--trust-proxy <hops|addresses>', 'behind a load balancer: believe X-Forwarded-* from this many proxies (1) or from these proxy addresses/CIDR ranges (10.0.0.5,10.1.0.0/16)', parseTrustProxy)
    .option('--admin-sign-in-minutes <minutes>', 'user and role administration needs a sign-in within this many minutes', (v) => Number.parseInt(v, 10), 15)
    .option('--workers', 'also run the job workers and schedules in this process (as `jml worker` does)')
    .option('--backup-dir <dir>', 'embedded database: write a backup into this directory on SIGUSR2 and every --backup-every hours')
    .option('--backup-every <hours>', 'with --backup-dir: hours between backups (0: on SIGUSR2 only)', (v) => Number(v), 24)
    .action(async (flags: { host: string; port: number; demo?: boolean; trustProxy?: TrustProxy; workers?: boolean; adminSignInMinutes: number; backupDir?: string; backupEvery: number }) => {
      if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) throw new JmlError('invalid_input', `--port must be 0–65535`);
      if (!Number.isInteger(flags.adminSignInMinutes) || flags.adminSignInMinutes < 1 || flags.adminSignInMinutes > 720) throw new JmlError('invalid_input', '--admin-sign-in-minutes must be 1–720');
      if (!Number.isFinite(flags.backupEvery) || flags.backupEvery < 0) throw new JmlError('invalid_input', '--backup-every must be a number of hours, 0 or more');
      await ctx.withStore(async (store, config) => {
        if (flags.backupDir && store.backend !== 'pglite') throw new JmlError('invalid_input', '--backup-dir backs up the embedded database; back up PostgreSQL with pg_dump while jml runs (docs/operations.md)');
        if (flags.demo) {
          const demo = await loadDemo({ db: store.db, config }, { actor: 'demo' });
          printDemoSummary(ctx, config, await summariseDemo(store, config, demo, 'demo'), demo);
          printLine(ctx);
        }
        let owners = new Map<string, string[]>();
        try {
          const { policy } = await createPlanner({ db: store.db, config, actor: 'serve' }).loadPolicy();
          for (const s of policy.systems) owners.set(s.owner, [...(owners.get(s.owner) ?? []), s.name]);
        } catch (error) {
          printLine(ctx, `policy not loaded (${(error as Error).message}): no system owners until it is fixed`);
          owners = new Map();
        }
        const now = () => new Date();
        // Replans after imports go through this process's own pg-boss when it runs the workers
        // (--workers), else through a send-only queue started on first use; workers elsewhere take them.
        let workers: Workers | null = null;
        const sendOnly = openReplanQueue(store);
        const replan: ReplanQueue = { requestReplan: (keys, reason, options) => (workers ? replanQueueOn(workers) : sendOnly).requestReplan(keys, reason, options) };
        const webDir = ensureConsoleBuilt((l) => printLine(ctx, l));
        const mfa = servedMfaPolicy(config, Boolean(flags.demo));
        const keyring = optionalKeyring(process.env);
        let relyingParty = relyingPartyFor(process.env.JML_PUBLIC_URL, flags.port);
        const services = createConsoleServices({ db: store.db, backend: store.backend, config, now, replan, ...(store.lane ? { lane: store.lane } : {}) });
        const app = await buildApiServer(
          {
            db: store.db,
            backend: store.backend,
            now,
            timezone: config.timezone,
            systemsOwnedBy: (key) => owners.get(key) ?? [],
            services,
            metrics: createApiMetrics(),
            webDir,
            recentSignInMs: flags.adminSignInMinutes * 60_000,
            mfa,
            keyring,
            relyingParty: () => relyingParty,
            oidc: process.env.JML_OIDC_ISSUER
              ? { issuer: process.env.JML_OIDC_ISSUER, clientId: process.env.JML_OIDC_CLIENT_ID ?? '', clientSecret: process.env.JML_OIDC_CLIENT_SECRET ?? '', baseUrl: process.env.JML_PUBLIC_URL ?? `http://${flags.host}:${flags.port}`, trustEmailWithoutVerifiedClaim: process.env.JML_OIDC_TRUST_EMAIL_WITHOUT_VERIFIED_CLAIM === 'true' }
              : null,
          },
          { logger: { level: logLevelFromEnv(process.env) }, trustProxy: flags.trustProxy ?? false },
        );
        const first = await ensureFirstAdmin(store.db);
        const address = await app.listen({ host: flags.host, port: flags.port });
        const listening = app.server.address();
        if (typeof listening === 'object' && listening) relyingParty = relyingPartyFor(process.env.JML_PUBLIC_URL, listening.port);
        printLine(ctx, `jml console: ${address}/   (API: ${address}/api/openapi.json)`);
        printMfaNotes(ctx, mfa, keyring !== null, relyingParty);
        if (!flags.demo) printLine(ctx, `Data:        ${store.location} (${store.backend === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'})`);
        if (first) printLine(ctx, `First sign-in — user: ${first.username}  password: ${first.password}   (shown once; stored hashed)`);
        else printLine(ctx, 'Sign in with your console user (the first admin password was shown on the first start).');
        workers = flags.workers ? await startWorkerRuntime({ store, config, actor: `worker:${process.pid}` }) : null;
        if (workers) printLine(ctx, `Job workers: ${workers.workerId} (changes of submitted plans, schedules).`);
        // Asynchronous SCIM Bulks a process left unfinished (a crash): job workers sweep them every minute;
        // without workers this process takes over each one whose lease has lapsed, at start and every lease period.
        const inbound = services.inbound;
        let resuming: Promise<unknown> = Promise.resolve();
        const resume = () => {
          if (workers || !inbound) return;
          resuming = resuming.then(() => resumeBatches({ db: store.db, push: inbound.push, now, owner: apiBatchRunner() }, (id, error) => printLine(ctx, `asynchronous SCIM Bulk ${id} stopped: ${(error as Error).message}`)));
        };
        resume();
        const batchSweep = setInterval(resume, BATCH_LEASE_MS).unref();
        const backups = flags.backupDir ? scheduleBackups(store, { dir: flags.backupDir, everyHours: flags.backupEvery, log: (l) => printLine(ctx, l), now }) : null;
        if (backups) printLine(ctx, `Backups: into ${flags.backupDir} on SIGUSR2${flags.backupEvery > 0 ? ` and every ${flags.backupEvery} h` : ''}.`);
        printLine(ctx, 'Ctrl-C stops the server.');
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        clearInterval(batchSweep);
        await app.close();
        await resuming.catch(() => undefined);
        await backups?.stop();
        await workers?.stop();
        await sendOnly.close();
      });
    });
}
