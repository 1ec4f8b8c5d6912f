/**
 * `jml serve`: the API, the web console and (with --workers) the job workers,
 * on the embedded PGlite by default or DATABASE_URL. On first start it
 * creates the `admin` user and prints its generated password once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildApiServer } from '../../api/api-server.ts';
import { createApiMetrics } from '../../api/api-metrics.ts';
import { ensureFirstAdmin } from '../../api/auth/user-store.ts';
import { createConsoleServices } from '../../api/console-services.ts';
import { createPlanner } from '../../app/compute-plan.ts';
import { loadDemo } from '../../app/load-demo.ts';
import { JmlError } from '../../domain/errors.ts';
import { printLine, type CliContext } from '../cli-context.ts';

const WEB_ROOT = path.resolve(import.meta.dirname, '../../../web');

/** Builds the console once when web/dist is missing (vite, offline). */
export function ensureConsoleBuilt(log: (line: string) => void): string | null {
  const dist = path.join(WEB_ROOT, 'dist');
  if (existsSync(path.join(dist, 'index.html'))) return dist;
  const vite = path.resolve(WEB_ROOT, '../node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) {
    log('the web console is not built and vite is not installed: serving the API only');
    return null;
  }
  log('building the web console…');
  const built = spawnSync(process.execPath, [vite, 'build', WEB_ROOT, '--logLevel', 'warn'], { stdio: 'inherit' });
  return built.status === 0 ? dist : null;
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP API and the web console (and job workers with --workers)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', (v) => Number.parseInt(v, 10), Number(process.env.PORT ?? 8080))
    .option('--demo', 'load the demo organisation first (once)')
    .option('--trust-proxy', 'behind a load balancer: trust X-Forwarded-* (Secure cookies follow the original scheme)')
    .action(async (flags: { host: string; port: number; demo?: boolean; trustProxy?: boolean }) => {
      if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) throw new JmlError('invalid_input', `--port must be 0–65535`);
      await ctx.withStore(async (store, config) => {
        if (flags.demo) {
          const demo = await loadDemo({ db: store.db, config }, { actor: 'demo' });
          if (demo.loaded) printLine(ctx, `Loaded the demo organisation from ${demo.directory}.`);
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
        const webDir = ensureConsoleBuilt((l) => printLine(ctx, l));
        const app = await buildApiServer(
          {
            db: store.db,
            backend: store.backend,
            now,
            systemsOwnedBy: (key) => owners.get(key) ?? [],
            services: createConsoleServices({ db: store.db, config, now }),
            metrics: createApiMetrics(),
            webDir,
            oidc: process.env.JML_OIDC_ISSUER
              ? { issuer: process.env.JML_OIDC_ISSUER, clientId: process.env.JML_OIDC_CLIENT_ID ?? '', clientSecret: process.env.JML_OIDC_CLIENT_SECRET ?? '', baseUrl: process.env.JML_PUBLIC_URL ?? `http://${flags.host}:${flags.port}` }
              : null,
          },
          { logger: false, trustProxy: flags.trustProxy ?? false },
        );
        const first = await ensureFirstAdmin(store.db);
        const address = await app.listen({ host: flags.host, port: flags.port });
        printLine(ctx, `jml console: ${address}/   (API: ${address}/api/openapi.json, data: ${store.location})`);
        if (first) printLine(ctx, `First sign-in — user: ${first.username}  password: ${first.password}   (shown once; stored hashed)`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await app.close();
      });
    });
}
