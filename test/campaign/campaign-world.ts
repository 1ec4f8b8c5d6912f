/**
 * One history of the fault campaign, run in this process against a store
 * (PGlite or PostgreSQL): the HR feed is a CSV the model writes, each sync
 * is the real path (importSource → planner → executePlan through the durable
 * job queue), and every downstream system is a fake behind the chaos
 * connector. The model — what HR said and what was approved — lives here,
 * apart from jml, so the invariants can compare the two.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { createAccessRequest } from '../../src/app/access-request.ts';
import { decideRequest } from '../../src/app/approval.ts';
import { importSource } from '../../src/app/import-source.ts';
import { applyDueEvents } from '../../src/app/lifecycle-clock.ts';
import { createChaosConnector, type ChaosConnector, type ChaosFault } from '../../src/connectors/chaos/chaos-connector.ts';
import { createFakeConnector } from '../../src/connectors/fake/fake-connector.ts';
import { createFakeSystem, type FakeSystem } from '../../src/connectors/fake/fake-system.ts';
import type { Plan } from '../../src/domain/change.ts';
import type { Connector } from '../../src/connectors/connector.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import { dateIn } from '../../src/engine/org-calendar.ts';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { QUEUE } from '../../src/jobs/job-queues.ts';
import { FINAL } from '../../src/jobs/change-job.ts';
import { executePlan, type PlanExecutorDeps } from '../../src/jobs/plan-executor.ts';
import { startWorkers } from '../../src/jobs/workers.ts';
import { HR_HEADER, hrRow, testConfig } from '../support/hr-files.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import type { Department, History, Operation, SyncFaults } from './campaign-generator.ts';
import { underRestart, type CampaignStore } from './campaign-database.ts';

export const MANAGER = 'M00';
export const SYSTEMS = ['wiki', 'crm'] as const;

/** What HR says about one person (the latest row the feed carries). */
export interface PersonRecord {
  department: Department;
  last: string;
  start: string;
  end: string;
  status: 'active' | 'terminated';
  /** Rehired at least once in the history. */
  rehired: boolean;
}

export type FaultKind = ChaosFault | 'reset_after_apply' | 'duplicate_delivery' | 'late_delivery' | 'worker_killed' | 'two_workers_racing' | 'directory_restarted' | `postgres_restarted_${string}`;

export interface World {
  readonly store: CampaignStore;
  readonly dir: string;
  readonly timeZone: string;
  now: Date;
  readonly people: Map<string, PersonRecord>;
  /** Approved requests for wiki:admins, by identity key: when approved. */
  readonly approvedAdmins: Map<string, Date>;
  engineeringRule: boolean;
  readonly target: CampaignTarget;
  readonly faults: Record<string, number>;
  readonly appliedPlans: Plan[];
  /** Apply jobs to deliver again before the next apply: duplicates and late ones. */
  readonly redeliver: { planId: string; changeId: string }[];
  /** Import results that were not applied: the model wrote a feed jml refused. */
  readonly refusedImports: string[];
}

export function personKey(who: number): string {
  return `E${String(who + 1).padStart(2, '0')}`;
}

export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function today(world: World): string {
  return dateIn(world.now, world.timeZone);
}

/** Policy the target adds: a system entry, entitlements and rules (YAML list items). */
export interface PolicyExtra {
  readonly systems: string;
  readonly entitlements: string;
  readonly rules: (engineeringRule: boolean) => string;
}

function policyFiles(engineeringRule: boolean, extra?: PolicyExtra): Record<string, string> {
  const system = (name: string) => `  - name: ${name}
    connector: { type: fake, settings: { groups: [staff, eng, admins, users] } }
    owner: ${MANAGER}
    enforcement: full
    correlation: { account: identity_key, identity: key }
`;
  return {
    'systems.yaml': `systems:\n${SYSTEMS.map(system).join('')}${extra?.systems ?? ''}`,
    'entitlements.yaml': `entitlements:
  - { system: wiki, name: staff }
  - { system: wiki, name: eng }
  - { system: wiki, name: admins, privileged: true }
  - { system: crm, name: users }
${extra?.entitlements ?? ''}`,
    'rules.yaml': `rules:
  - name: everyone
    when: { kind: [employee] }
    grant: { entitlements: ["wiki:staff"] }
  - name: sales
    when: { equals: { department: Sales } }
    grant: { entitlements: ["crm:users"] }
${engineeringRule ? `  - name: engineering
    when: { equals: { department: Engineering } }
    grant: { entitlements: ["wiki:eng"] }
` : ''}${extra?.rules(engineeringRule) ?? ''}`,
  };
}

export function createWorld(store: CampaignStore, dir: string, history: History, target: CampaignTarget): World {
  const world: World = {
    store,
    dir,
    timeZone: history.org.timeZone,
    now: new Date(`${history.org.startDay}T12:00:00Z`),
    people: new Map(),
    approvedAdmins: new Map(),
    engineeringRule: true,
    target,
    faults: {},
    appliedPlans: [],
    redeliver: [],
    refusedImports: [],
  };
  writePolicyDir(policyFiles(true, target.policy), policyDir(world));
  return world;
}

export function policyDir(world: World): string {
  return path.join(world.dir, 'policy');
}

function count(world: World, kind: FaultKind, n = 1): void {
  if (n > 0) world.faults[kind] = (world.faults[kind] ?? 0) + n;
}

/** Carries out one operation of the history. */
export async function runOperation(world: World, operation: Operation): Promise<void> {
  const day = today(world);
  const key = 'who' in operation ? personKey(operation.who) : '';
  const person = world.people.get(key);
  switch (operation.op) {
    case 'join':
      if (!person) world.people.set(key, { department: operation.department, last: 'Lovelace', start: addDays(day, operation.startOffset), end: '', status: 'active', rehired: false });
      return;
    case 'move':
      if (person?.status === 'active') person.department = operation.department;
      return;
    case 'rename':
      if (person) person.last = operation.last;
      return;
    case 'leave':
      if (person?.status === 'active') {
        person.status = 'terminated';
        const end = addDays(day, operation.endOffset);
        person.end = end < person.start ? person.start : end;
      }
      return;
    case 'rehire':
      if (person?.status === 'terminated') {
        const start = addDays(day, operation.startOffset);
        person.start = start <= person.end ? addDays(person.end, 1) : start;
        person.end = '';
        person.status = 'active';
        person.rehired = true;
      }
      return;
    case 'advance':
      world.now = new Date(world.now.getTime() + operation.hours * 3_600_000);
      await applyDueEvents({ db: world.store.db, actor: 'campaign:clock' }, world.now);
      return;
    case 'policy':
      world.engineeringRule = operation.engineeringRule;
      writePolicyDir(policyFiles(operation.engineeringRule, world.target.policy), policyDir(world));
      return;
    case 'request':
      return requestAdmins(world, key);
    case 'sync':
      await sync(world, operation.faults);
      return;
  }
}

/** A person asks for wiki:admins for themselves; their manager and the system owner approve. */
async function requestAdmins(world: World, key: string): Promise<void> {
  const planner = plannerOf(world);
  const { policy } = await planner.loadPolicy();
  const deps = { db: world.store.db, policy, timezone: world.timeZone, now: () => world.now };
  let request;
  try {
    ({ request } = await createAccessRequest(deps, { requester: key, identityKey: key, entitlement: 'wiki:admins', justification: 'campaign', durationDays: 30 }));
  } catch (error) {
    // Not (yet) in the store, or gone: jml refuses, which is right.
    if (isJmlError(error, 'not_found') || isJmlError(error, 'invalid_input')) return;
    throw error;
  }
  for (let stage = 0; stage < 3 && request.state === 'pending'; stage++) {
    request = await decideRequest(world.store.db, { requestId: request.id, approver: MANAGER, decision: 'approve' }, world.now);
  }
  if (request.state === 'approved') world.approvedAdmins.set(key, world.now);
}

export function plannerOf(world: World) {
  return createPlanner({ db: world.store.db, config: { policy_dir: policyDir(world), timezone: world.timeZone }, actor: 'campaign', now: () => world.now });
}

function writeFeed(world: World): string {
  const rows = [hrRow({ id: MANAGER, department: 'Sales', start: '2020-01-01' })];
  for (const [id, p] of [...world.people].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push(hrRow({ id, last: p.last, department: p.department, manager: MANAGER, start: p.start, end: p.end, status: p.status }));
  }
  const file = path.join(world.dir, 'hr.csv');
  writeFileSync(file, [HR_HEADER, ...rows].join('\n') + '\n');
  return file;
}

const NO_FAULTS: SyncFaults = { timeoutRate: 0, rateLimitRate: 0, unavailableRate: 0, resetRate: 0, duplicate: false, late: false, killWorkerAfterMs: null, directoryDownMs: null, postgresRestart: null };

/**
 * The database restart `faults` ask for, where this history can have it: on
 * the campaign's own server, and during an apply only where worker processes
 * apply (an in-process apply would end with its process's connection).
 */
function restartOf(world: World, faults: SyncFaults): SyncFaults['postgresRestart'] {
  const restart = faults.postgresRestart;
  if (!restart || !world.store.restartServer) return null;
  return restart.during !== 'apply' || world.target.restartsDuringApply ? restart : null;
}

/** Runs one phase of a sync; the server restarts under it if the sync's faults say so for this phase. */
function phase<T>(world: World, faults: SyncFaults, name: 'import' | 'plan', fn: () => Promise<T>): Promise<T> {
  const restart = restartOf(world, faults);
  return restart?.during === name ? underRestart(world.store, restart, (kind) => count(world, kind as FaultKind), fn) : fn();
}

/** Import the feed, plan, and apply under `faults`; returns the number of changes planned. */
export async function sync(world: World, faults: SyncFaults = NO_FAULTS): Promise<number> {
  const file = writeFeed(world);
  const result = await phase(world, faults, 'import', () => importSource({ db: world.store.db, config: testConfig({ policy_dir: policyDir(world), timezone: world.timeZone }) }, {
    source: 'hr', file, asOf: today(world), actor: 'campaign:import', now: world.now,
  }));
  if (result.status !== 'applied') world.refusedImports.push(`${today(world)}: ${result.status} ${JSON.stringify(result.errors.slice(0, 3))}`);
  return applyOnce(world, faults);
}

/** Plans and applies once under `faults` (delivering queued duplicates first); the number of changes planned. */
export async function applyOnce(world: World, faults: SyncFaults = NO_FAULTS): Promise<number> {
  if (world.redeliver.length > 0) await world.target.redeliver(world, world.redeliver.splice(0));
  // A second passes per plan, as it does between two real applies: a plan's id hashes its inputs and `now`, and
  // submitting a plan already recorded queues nothing, so a plan recomputed at the very same instant would not
  // retry the changes an earlier one parked.
  world.now = new Date(world.now.getTime() + 1_000);
  const planner = plannerOf(world);
  const { plan } = await phase(world, faults, 'plan', () => planner.compute());
  if (plan.changes.length === 0) return 0;
  await world.target.apply(world, plan, () => planner.currentFingerprint(), { ...faults, postgresRestart: restartOf(world, faults) });
  world.appliedPlans.push(plan);
  if (faults.duplicate) {
    world.redeliver.push(...plan.changes.map((c) => ({ planId: plan.id, changeId: c.id })));
    count(world, 'duplicate_delivery', plan.changes.length);
  }
  const earlier = world.appliedPlans.at(-2);
  if (faults.late && earlier) {
    world.redeliver.push(...earlier.changes.map((c) => ({ planId: earlier.id, changeId: c.id })));
    count(world, 'late_delivery', earlier.changes.length);
  }
  return plan.changes.length;
}

/** An account as the system itself holds it. */
export interface SystemAccount {
  readonly identityKey: string;
  readonly accountId: string;
  readonly enabled: boolean;
  readonly grants: readonly string[];
}

/** Where plans are applied and the downstream systems live. */
export interface CampaignTarget {
  /** Systems of its own the target adds to the policy. */
  readonly policy?: PolicyExtra;
  /** Its apply outlives a database restart (worker processes reconnect), so a restart may be injected into it. */
  readonly restartsDuringApply?: boolean;
  /** Applies `plan` under `faults` until nothing more can move. */
  apply(world: World, plan: Plan, currentFingerprint: () => Promise<string>, faults: SyncFaults): Promise<void>;
  /** Delivers these apply jobs again and works them until the queue is empty. */
  redeliver(world: World, jobs: readonly { planId: string; changeId: string }[]): Promise<void>;
  /** Each system's accounts, read from the system's own state. */
  accounts(world: World): Promise<ReadonlyMap<string, readonly SystemAccount[]>>;
  close(): Promise<void>;
}

export function countFault(world: World, kind: FaultKind, n = 1): void {
  count(world, kind, n);
}

export function executorDeps(world: World, connectorFor: PlanExecutorDeps['connectorFor']): PlanExecutorDeps {
  return {
    store: world.store,
    connectorFor,
    actor: 'campaign:apply',
    now: () => world.now,
    alert: () => undefined,
    options: CAMPAIGN_WORKER_OPTIONS,
    pollMs: 20,
  };
}

/** Fast retries; no quarantine: it would defer a flaky system by minutes of real time (it has its own tests in src/jobs/change-job.test.ts). */
export const CAMPAIGN_WORKER_OPTIONS = { retry: { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 12 }, callTimeoutMs: 2_000, applyExpireSeconds: 10, quarantine: { after: 1_000_000, unreachableAfter: 1_000_000 } } as const;

/**
 * The worker processes' options: a short expiry, so a killed worker's changes
 * are taken over within seconds. pg-boss keeps the expiry of whoever creates
 * the apply queue, so the campaign creates it with this one (campaign-processes.ts).
 */
export const WORKER_PROCESS_OPTIONS = { ...CAMPAIGN_WORKER_OPTIONS, applyExpireSeconds: 3, superviseIntervalSeconds: 1, batchSize: 4, concurrency: 2 } as const;

/** Sends apply jobs again (duplicates, or late ones of an earlier plan). */
export async function sendApplyJobs(world: World, jobs: readonly { planId: string; changeId: string }[]): Promise<void> {
  const boss = await startJobBoss(world.store.db, world.store.backend, { schedule: false, supervise: false });
  try {
    for (const job of jobs) await boss.send(QUEUE.applyChange, { ...job, seq: 1 });
  } finally {
    await boss.stop({ graceful: false, close: false });
  }
}

/** Waits until no apply job is due or running: by condition, with a generous bound (a loaded machine may take minutes). */
export async function applyQueueDrained(world: World, timeoutMs = SETTLE_BOUND_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await pendingApplyJobs(world)).length > 0) {
    if (Date.now() > until) throw new Error(`apply jobs were not worked within ${timeoutMs / 1000} s: ${JSON.stringify(await pendingApplyJobs(world))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The single-process target: executePlan in this process, systems are fakes behind the chaos connector. */
export function inProcessTarget(more: {
  readonly policy?: PolicyExtra;
  readonly connectorFor?: (system: string) => Connector | undefined;
  readonly beforeApply?: (world: World, faults: SyncFaults) => Promise<() => Promise<void>>;
  readonly accounts?: () => Promise<ReadonlyMap<string, readonly SystemAccount[]>>;
  readonly close?: () => Promise<void>;
} = {}): CampaignTarget {
  const systems = new Map<string, FakeSystem>(SYSTEMS.map((s) => [s, createFakeSystem(s, ['staff', 'eng', 'admins', 'users'])]));
  const plain = (s: string | null): Connector | undefined => (s === null ? undefined : systems.has(s) ? createFakeConnector({ groups: [] }, { system: s, state: systems.get(s)! }) : more.connectorFor?.(s));
  const names = () => [...systems.keys(), ...(more.policy ? ['dir'] : [])];
  return {
    ...(more.policy ? { policy: more.policy } : {}),
    async apply(world, plan, currentFingerprint, faults) {
      const healed = more.beforeApply ? await more.beforeApply(world, faults) : async () => undefined;
      const chaos = new Map<string, ChaosConnector>();
      for (const name of names()) {
        chaos.set(name, createChaosConnector({
          // Seeded by the history's own count of applies, so a replayed history draws the same faults.
          seed: world.appliedPlans.length * 16 + chaos.size + 1,
          timeoutRate: faults.timeoutRate,
          rateLimitRate: faults.rateLimitRate,
          unavailableRate: faults.unavailableRate,
          crashRate: faults.resetRate,
          crashMode: 'throw',
          retryAfterMs: 30,
        }, { inner: plain(name)! }));
      }
      try {
        await settledWithin(executePlan(executorDeps(world, (s) => (s === null ? undefined : chaos.get(s))), plan, currentFingerprint), world.store, plan.id);
      } finally {
        await healed();
      }
      for (const c of chaos.values()) {
        const { crash, ...rest } = c.injected;
        count(world, 'reset_after_apply', crash);
        for (const [kind, n] of Object.entries(rest)) count(world, kind as FaultKind, n);
      }
    },
    async redeliver(world, jobs) {
      await sendApplyJobs(world, jobs);
      const deps = executorDeps(world, plain);
      const workers = await startWorkers({ store: world.store, connectorFor: plain, actor: deps.actor, now: deps.now!, alert: () => undefined, options: { ...CAMPAIGN_WORKER_OPTIONS, applyOnly: true, schedules: false } });
      try {
        await applyQueueDrained(world);
      } finally {
        await workers.stop(5_000);
      }
    },
    async accounts() {
      const out = new Map<string, readonly SystemAccount[]>(more.accounts ? await more.accounts() : []);
      for (const [name, system] of systems) {
        out.set(name, [...system.accounts.values()].map((a) => ({ identityKey: a.identityKey, accountId: a.accountId, enabled: a.enabled, grants: [...(system.grants.get(a.accountId) ?? [])].sort() })));
      }
      return out;
    },
    close: async () => more.close?.(),
  };
}

/** The apply jobs due or running, with what they carry. */
async function pendingApplyJobs(world: World): Promise<readonly { readonly data: unknown; readonly state: string; readonly retry_count: number }[]> {
  const rows = await sql<{ data: unknown; state: string; retry_count: number }>`select data, state, retry_count from pgboss.job where name = ${QUEUE.applyChange} and state in ('created', 'retry', 'active') and start_after <= now() limit 20`.execute(world.store.db);
  return rows.rows;
}

/** How long the campaign waits for a plan to settle or the queue to drain before it says what did not (a loaded machine may take minutes). */
export const SETTLE_BOUND_MS = 300_000;

/** `work`, or after `SETTLE_BOUND_MS` an error saying what keeps plan `planId` open. */
async function settledWithin<T>(work: Promise<T>, store: CampaignStore, planId: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => void unsettledPlan(store, planId).then((why) => reject(new Error(`plan ${planId} did not settle within ${SETTLE_BOUND_MS / 1000} s: ${why}`)), reject), SETTLE_BOUND_MS);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** What keeps a plan open: its changes that are not final, their runs and their queued jobs. */
export async function unsettledPlan(store: CampaignStore, planId: string): Promise<string> {
  const open = await store.db
    .selectFrom('plan_changes as pc')
    .innerJoin('change_runs as cr', (j) => j.onRef('cr.plan_id', '=', 'pc.plan_id').onRef('cr.change_id', '=', 'pc.change_id'))
    .select(['pc.change_id', 'pc.state', 'pc.last_error', 'cr.seq', 'cr.failures', 'cr.lease_owner', 'cr.lease_until', 'cr.next_at'])
    .where('pc.plan_id', '=', planId)
    .where('pc.state', 'not in', FINAL)
    .execute();
  if (open.length === 0) return 'every change is final but the plan is still applying (nobody closed it)';
  const jobs = await sql<{ change_id: string; seq: number; state: string; retry_count: number; start_after: Date }>`
    select data->>'changeId' as change_id, (data->>'seq')::int as seq, state, retry_count, start_after from pgboss.job
    where name = ${QUEUE.applyChange} and data->>'planId' = ${planId} order by created_on`.execute(store.db);
  return `changes not final: ${JSON.stringify(open)}; their jobs: ${JSON.stringify(jobs.rows.filter((j) => open.some((o) => o.change_id === j.change_id)))}`;
}
