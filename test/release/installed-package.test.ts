/**
 * The release as a user gets it: `npm pack` (which builds dist/ and the
 * console through `prepack`), then `npm install -g --prefix <empty dir>` of
 * the tarball, which brings the runtime dependencies and nothing else, and
 * the installed `jml` run from an empty directory with Node 24 on PATH:
 * --version, demo, audit verify, migrate --dry-run, backup, restore, and serve
 * answering its health check (curl) and serving the console.
 *
 * Slow (a build and an install): one test, packing once. The pack runs in a
 * copy of the sources, so it never rebuilds the web/dist other tests serve.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '../..');
const version = (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
/** What the package is built from (package.json's `files` and the build's inputs). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'CHANGELOG.md', 'bin', 'src', 'scripts', 'policy', 'docs', 'web/index.html', 'web/src', 'web/tsconfig.json', 'web/vite.config.ts'];
/** The pinned Node 24 (the `node` dev dependency), standing in for the one a user installs. */
const NODE_BIN = path.join(repo, 'node_modules/node/bin');

const scratch = mkdtempSync(path.join(tmpdir(), 'jml-release-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function check(what: string, result: SpawnSyncReturns<string>): string {
  assert.equal(result.status, 0, `${what} failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

test('the packed release installs into an empty prefix without dev dependencies and its jml runs demo, audit verify, backup, restore and serve', { timeout: 15 * 60_000 }, async () => {
  const source = path.join(scratch, 'source');
  for (const entry of SOURCES) cpSync(path.join(repo, entry), path.join(source, entry), { recursive: true });
  symlinkSync(path.join(repo, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const buildEnv = { ...process.env, PATH: `${path.join(repo, 'node_modules/.bin')}${path.delimiter}${NODE_BIN}${path.delimiter}${process.env.PATH}` };

  const packed = check('npm pack', spawnSync('npm', ['pack', '--pack-destination', scratch], { cwd: source, env: buildEnv, encoding: 'utf8' }));
  const tarball = path.join(scratch, packed.trim().split('\n').at(-1)!);
  assert.equal(path.basename(tarball), `jml-${version}.tgz`);
  const files = check('tar', spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' })).trim().split('\n');
  for (const wanted of ['package/bin/jml.js', 'package/dist/cli/main.js', 'package/dist/cli/main.js.map', 'package/web/dist/index.html', 'package/policy/systems.yaml', 'package/CHANGELOG.md']) {
    assert.ok(files.includes(wanted), `the package holds ${wanted}`);
  }
  assert.deepEqual(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || f.endsWith('.test.js')), [], 'no sources or tests in the package');

  // A user's machine: Node 24 and npm, no clone, no dev dependencies.
  const prefix = path.join(scratch, 'prefix');
  const userPath = [path.join(prefix, 'bin'), NODE_BIN, '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);
  // The machine's network settings stay (proxy, extra CA certificates, npm's own settings): the registry is reached as npm ci reached it.
  const network = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(https?_proxy|no_proxy|node_extra_ca_certs|ssl_cert_file|ssl_cert_dir|npm_config_.*)$/i.test(k)));
  const userEnv = { ...network, PATH: userPath, HOME: process.env.HOME ?? scratch, npm_config_cache: process.env.npm_config_cache ?? path.join(process.env.HOME ?? scratch, '.npm') };
  // --prefix also moves npm's global config (to <prefix>/etc/npmrc): keep this machine's, where its registry and CA may be set.
  const globalConfig = spawnSync('npm', ['config', 'get', 'globalconfig'], { env: userEnv, encoding: 'utf8' }).stdout.trim();
  check('npm install -g', spawnSync('npm', ['install', '-g', '--prefix', prefix, '--globalconfig', globalConfig, '--prefer-offline', '--no-audit', '--no-fund', tarball], { env: userEnv, encoding: 'utf8' }));
  const installed = path.join(prefix, 'lib/node_modules/jml');
  assert.deepEqual(spawnSync('find', [installed, '-name', '*.ts', '-not', '-name', '*.d.ts', '-not', '-path', '*/node_modules/*'], { encoding: 'utf8' }).stdout, '', 'jml runs compiled JavaScript only');

  const work = path.join(scratch, 'work');
  mkdirSync(work);
  const jml = (...args: string[]) => spawnSync('jml', args, { cwd: work, env: userEnv, encoding: 'utf8' });

  assert.equal(check('jml --version', jml('--version')).trim(), version);
  const noPolicy = jml('demo');
  assert.equal(noPolicy.status, 2);
  assert.match(noPolicy.stderr, new RegExp(`policy directory .* does not exist; for the demo, start from the policy shipped with jml: cp -r ${installed}/policy policy`));
  cpSync(path.join(installed, 'policy'), path.join(work, 'policy'), { recursive: true });
  assert.match(check('jml demo', jml('demo')), /Loaded the demo organisation/);
  const verified = check('jml audit verify', jml('audit', 'verify'));
  assert.match(verified, /^audit trail intact: \d+ entries, head [0-9a-f]{64}\b/m);
  assert.match(check('jml migrate --dry-run', jml('migrate', '--dry-run')), /The schema is up to date: nothing to do/);
  assert.match(check('jml backup', jml('backup', 'jml.backup.zip')), /Backed up .* to jml.backup.zip/);
  const restored = check('jml restore', jml('--data', 'restored', 'restore', 'jml.backup.zip'));
  assert.match(restored, new RegExp(`audit trail intact: ${verified.match(/(\d+) entries/)![1]} entries`));

  const server = spawn('jml', ['serve', '--port', '0'], { cwd: work, env: userEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let output = '';
    const address = await new Promise<string>((resolve, reject) => {
      server.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const found = /jml console: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
        if (found) resolve(found[1]!);
      });
      server.on('exit', (code) => reject(new Error(`jml serve exited ${code}: ${output}`)));
    });
    assert.deepEqual(JSON.parse(check('curl /healthz', spawnSync('curl', ['-fsS', `${address}/healthz`], { encoding: 'utf8' }))), { status: 'ok', backend: 'pglite' });
    assert.match(check('curl /', spawnSync('curl', ['-fsS', `${address}/`], { encoding: 'utf8' })), /<title>jml console<\/title>/);
  } finally {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      assert.equal(await exited, 0, 'jml serve stops cleanly on SIGTERM');
    }
  }
});
