/**
 * `jml init` scaffolds a project; `jml policy check | diff | schema` work on
 * policy as code.
 */
import { reviewDefinitionsDiff } from '../../policy/review-diff.ts';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { connectorSettingsIssues, settingsIssueMessage } from '../../app/connector-settings-check.ts';
import { loadAssignments, loadIdentities } from '../../app/plan-inputs.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { describeSodViolation, newTemplateGroups, policyDiff, sodPolicyDiff, unresolvedTemplates, type DesiredEntitlement, type SodPolicyDiff, type UnresolvedTemplate } from '../../engine/index.ts';
import type { Policy, SystemDef } from '../../domain/policy.ts';
import { loadObserved } from '../../app/observed-snapshot.ts';
import { formatProblem, loadPolicy, policyJsonSchema, scaffoldPolicy, type PolicyProblem } from '../../policy/index.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

const CONFIG_TEMPLATE = `# jml configuration. Every setting has a default; environment variables override the file.
#
# The organisation's time zone: effective dates and date conditions are read in it (JML_TIMEZONE).
timezone: UTC
# Embedded database directory (JML_DATA_DIR, or --data). Set DATABASE_URL to use a PostgreSQL server instead.
data_dir: .jml
# Policy as code: systems, entitlements, roles, rules (JML_POLICY_DIR, or --policy).
policy_dir: policy
# Identities from different sources are one identity when this attribute matches.
correlation: { attribute: email }
# An import whose leavers exceed max(minimum, percent % of active identities) is held for a person.
mass_change: { minimum: 10, percent: 5 }
# Sources: hr, vendor and nhi exist by default; add mappings here (see the README).
# sources:
#   hr: { type: hr, format: csv }
`;

/** Active identities whose matching rules' entitlement templates name no group, for `policy check --identities`. */
async function unresolvedByIdentity(ctx: CliContext, policy: Policy): Promise<(UnresolvedTemplate & { readonly identityKey: string })[]> {
  return ctx.withStore(async (store, config) => {
    const now = new Date().toISOString();
    return (await loadIdentities(store.db))
      .filter((identity) => identity.status === 'active')
      .flatMap((identity) => unresolvedTemplates(identity, policy, now, { timeZone: config.timezone }).map((u) => ({ identityKey: identity.key, ...u })));
  });
}

/** ` (template dept-{department|slug}: department "Sales")` for an entitlement a template named. */
function templateNote(d: DesiredEntitlement): string {
  const source = d.reasons.find((r) => r.type === 'rule' && r.template);
  if (!source || source.type !== 'rule' || !source.template) return '';
  return ` (template ${source.template.template}: ${Object.entries(source.template.values).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')})`;
}

/** A system's connector settings problems at the setting's place in its YAML entry. */
function settingsAt(system: SystemDef): { path: string[]; message: string }[] {
  return connectorSettingsIssues(system).map((i) => ({
    path: ['connector', 'settings', ...(i.setting ? i.setting.split('.') : [])],
    message: settingsIssueMessage(system, i),
  }));
}

export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('write a starter policy directory and a commented jml.config.yaml (never overwrites)')
    .argument('[dir]', 'project directory', '.')
    .action(async (dir: string) => {
      const policyDir = path.join(dir, 'policy');
      const files: [string, string][] = [
        [path.join(dir, 'jml.config.yaml'), CONFIG_TEMPLATE],
        ...Object.entries(scaffoldPolicy()).map(([name, text]): [string, string] => [path.join(policyDir, name), text]),
      ];
      const existing = files.map(([file]) => file).filter((file) => existsSync(file));
      if (existing.length > 0) throw new JmlError('conflict', `refusing to overwrite: ${existing.join(', ')}`, { details: { existing } });
      await mkdir(policyDir, { recursive: true });
      for (const [file, text] of files) await writeFile(file, text, { flag: 'wx' });
      for (const [file] of files) printLine(ctx, `wrote ${file}`);
      printLine(ctx, '\nnext: edit policy/systems.yaml, then `jml policy check`.');
    });

  const policy = program.command('policy').description('policy as code: check, diff, schema');
  policy
    .command('check')
    .description('validate the policy directory and each system\'s connector settings; every problem names file, line and path, or the system and setting')
    .option('--json', 'print JSON')
    .option('--identities', 'also list active identities for whom an entitlement template names no group (a field it reads is missing)')
    .action(async (flags: { json?: boolean; identities?: boolean }) => {
      const config = await ctx.config();
      try {
        // Settings are otherwise checked only when a command first opens the system.
        const loaded = await loadPolicy(config.policy_dir, { systemProblems: settingsAt });
        const p = loaded.policy;
        const unresolved = flags.identities ? await unresolvedByIdentity(ctx, loaded.policy) : [];
        if (flags.json) {
          printJson(ctx, { ok: true, hash: loaded.hash, files: loaded.files, counts: { systems: p.systems.length, entitlements: p.entitlements.length, roles: p.roles.length, rules: p.rules.length }, ...(flags.identities ? { unresolved } : {}) });
          return;
        }
        printLine(ctx, `${config.policy_dir}: ok — ${p.systems.length} systems, ${p.entitlements.length} entitlements, ${p.roles.length} roles, ${p.rules.length} rules (hash ${loaded.hash.slice(0, 12)})`);
        for (const u of unresolved) {
          printLine(ctx, `  ${u.identityKey}: rule ${u.rule}: ${u.system}:${u.template} names no group (${u.missing.join(', ')} missing)`);
        }
      } catch (error) {
        const problems = isJmlError(error, 'invalid_input') ? (error.details.problems as PolicyProblem[] | undefined) : undefined;
        if (!problems) throw error;
        if (flags.json) printJson(ctx, { ok: false, problems });
        else for (const p of problems) ctx.stderr.write(`${formatProblem(p)}\n`);
        ctx.setExitCode(EXIT.invalidInput);
      }
    });

  policy
    .command('diff')
    .description('who would gain or lose which access if the policy in <new-dir> replaced the current one')
    .argument('<new-dir>', 'the proposed policy directory')
    .option('--json', 'print JSON')
    .action(async (newDir: string, flags: { json?: boolean }) => {
      const proposed = await loadPolicy(newDir);
      await ctx.withStore(async (store, config) => {
        const current = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const entries = policyDiff(await loadIdentities(store.db), current.policy, proposed.policy, await loadAssignments(store.db), new Date().toISOString(), { timeZone: config.timezone });
        // Only systems where a template would hand out groups are read, to see which of those groups exist.
        const templated = [...new Set(entries.flatMap((e) => e.gained.filter((g) => g.reasons.some((r) => r.type === 'rule' && r.template)).map((g) => g.system)))];
        const groups = templated.length === 0 ? [] : newTemplateGroups(entries, proposed.policy, (await loadObserved(store.db, templated)).observed);
        const sod = sodPolicyDiff(await loadIdentities(store.db), current.policy, proposed.policy, await loadAssignments(store.db), new Date().toISOString(), { timeZone: config.timezone });
        const reviews = reviewDefinitionsDiff(current.policy, proposed.policy);
        if (flags.json) return printJson(ctx, { from: current.hash, to: proposed.hash, identities: entries, newGroups: groups, sod, reviews });
        for (const line of sodDiffLines(sod)) printLine(ctx, line);
        for (const r of reviews) printLine(ctx, `review ${r.name}: ${r.change}${r.fields.length > 0 ? ` (${r.fields.join(', ')})` : ''}`);
        if (entries.length === 0) return printLine(ctx, 'no identity would gain or lose access.');
        for (const e of entries) {
          printLine(ctx, e.identityKey);
          for (const g of e.gained) printLine(ctx, `  + ${g.system}:${g.entitlement}${templateNote(g)}`);
          for (const l of e.lost) printLine(ctx, `  - ${l.system}:${l.entitlement}${templateNote(l)}`);
        }
        if (groups.length > 0) {
          printLine(ctx, '\ngroups jml would create (entitlement templates with create_missing):');
          for (const g of groups) printLine(ctx, `  + ${g.system}:${g.entitlement} from ${g.template}, for ${g.identityKeys.join(', ')}`);
        }
        const gained = entries.reduce((n, e) => n + e.gained.length, 0);
        const lost = entries.reduce((n, e) => n + e.lost.length, 0);
        printLine(ctx, `\n${entries.length} identities: ${gained} grants gained, ${lost} lost`);
      });
    });

  policy
    .command('schema')
    .description('print the JSON Schema of policy files (for editors)')
    .action(() => printJson(ctx, policyJsonSchema()));
}

/** SoD violations a policy change would create and resolve, as lines (none when there are neither). */
export function sodDiffLines(sod: SodPolicyDiff): string[] {
  if (sod.created.length === 0 && sod.resolved.length === 0) return [];
  return [
    `SoD: ${sod.created.length} violation(s) created, ${sod.resolved.length} resolved`,
    ...sod.created.map((v) => `  ! ${describeSodViolation(v)}`),
    ...sod.resolved.map((v) => `  ✓ resolved: ${describeSodViolation(v)}`),
    '',
  ];
}
