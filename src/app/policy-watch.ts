/**
 * A long-running process's view of the policy directory (`jml worker`,
 * `jml serve`): loaded once, then checked on each tick by a digest of the
 * files' bytes, which costs a directory listing and a hash, not a parse.
 * When the files change, the policy is loaded again and, if its content
 * changed, recorded as a new version (audited `policy.loaded`, as the planner
 * does). A directory that no longer loads keeps the last good policy in
 * force: a typo in a YAML file must not stop leavers being processed.
 */
import type { Kysely } from 'kysely';
import { filesDigest, loadPolicy, policyDirDigest, type LoadedPolicy } from '../policy/index.ts';
import type { Database } from '../store/database.ts';
import { recordPolicyVersion } from './compute-plan.ts';

export interface PolicyWatchDeps {
  readonly dir: string;
  readonly db: Kysely<Database>;
  /** Recorded as who loaded a new policy version. */
  readonly actor: string;
  readonly now?: () => Date;
  /** Told once per broken state of the directory; the last good policy stays in force. */
  readonly onInvalid?: (error: Error) => void;
}

export interface PolicyCheck {
  readonly loaded: LoadedPolicy;
  /** True when this check loaded a policy whose content differs from the one before. */
  readonly changed: boolean;
}

export interface PolicyWatch {
  /** The policy in force, reloaded first if the directory changed since the last check. */
  check(): Promise<PolicyCheck>;
}

/**
 * Creates the watch; the first `check` loads the policy (and throws if it is invalid).
 * @example
 * const watch = createPolicyWatch({ dir: config.policy_dir, db, actor: 'worker' });
 * const { loaded, changed } = await watch.check(); // on each tick
 */
export function createPolicyWatch(deps: PolicyWatchDeps): PolicyWatch {
  const now = deps.now ?? (() => new Date());
  let current: { loaded: LoadedPolicy; digest: string } | null = null;
  let brokenDigest: string | null = null;
  let inFlight: Promise<PolicyCheck> | null = null;

  async function load(): Promise<LoadedPolicy> {
    const loaded = await loadPolicy(deps.dir);
    await recordPolicyVersion(deps.db, loaded, deps.actor, now());
    return loaded;
  }

  async function check(): Promise<PolicyCheck> {
    if (!current) {
      const loaded = await load();
      current = { loaded, digest: filesDigest(loaded.files) };
      return { loaded, changed: false };
    }
    const digest = await policyDirDigest(deps.dir).catch(() => 'unreadable');
    if (digest === current.digest || digest === brokenDigest) return { loaded: current.loaded, changed: false };
    try {
      const loaded = await load();
      const changed = loaded.hash !== current.loaded.hash;
      // The digest of what was parsed, so a file changed between digest and load is seen next time.
      current = { loaded, digest: filesDigest(loaded.files) };
      brokenDigest = null;
      return { loaded, changed };
    } catch (error) {
      brokenDigest = digest;
      deps.onInvalid?.(error as Error);
      return { loaded: current.loaded, changed: false };
    }
  }

  return {
    // Ticks may overlap (a replan while the lifecycle tick runs): one check at a time.
    check: () => (inFlight ??= check().finally(() => (inFlight = null))),
  };
}
