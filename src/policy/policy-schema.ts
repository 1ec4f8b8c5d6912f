/**
 * The YAML form of a policy file, as zod schemas. Files use snake_case keys;
 * parsing turns them into the camelCase domain values of src/domain/policy.ts.
 * The same schemas generate the JSON Schema editors use.
 */
import { z } from 'zod';
import { CRITICALITIES, ENFORCEMENT_MODES } from '../domain/access.ts';
import { CREDENTIAL_KINDS, IDENTITY_KINDS } from '../domain/identity.ts';
import { MAX_PATTERN_LENGTH } from '../domain/policy.ts';
import { isTemplate } from '../engine/account-template.ts';
import { reviewSchema } from './review-schema.ts';
import type {
  ApprovalPolicy,
  ApprovalStageDef,
  ApproverRef,
  Condition,
  EntitlementDef,
  Inducement,
  RoleDef,
  CredentialPolicy,
  ProfileDef,
  RuleDef,
  SodRule,
  SodSide,
  SystemDef,
} from '../domain/policy.ts';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, ".", "_" or "-" (no spaces or colons)');
const date = z.union([z.literal('today'), z.iso.date()]);

/** `system:entitlement`, the way roles and rules refer to an entitlement. */
export const ENTITLEMENT_REF = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(\S+)$/;
const entitlementRef = z
  .string()
  .regex(ENTITLEMENT_REF, 'write an entitlement as "system:entitlement"')
  .transform((ref) => {
    const [, system = '', entitlement = ''] = ENTITLEMENT_REF.exec(ref) ?? [];
    return { system, entitlement };
  });

function attributeMap<T extends z.ZodType>(value: T) {
  return z
    .record(z.string().min(1), value)
    .refine((map) => Object.keys(map).length > 0, 'name at least one attribute');
}

const pattern = z
  .string()
  .max(MAX_PATTERN_LENGTH)
  .refine((source) => {
    try {
      new RegExp(source, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

/** Condition operators, in the order of the union below (the loader relies on it for messages). */
export const CONDITION_OPERATORS = [
  'equals', 'in', 'kind', 'exists', 'matches', 'before', 'after', 'within_days', 'not', 'all', 'any',
] as const;

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ equals: attributeMap(z.string()) }),
    z.strictObject({ in: attributeMap(z.array(z.string()).min(1)) }),
    z.strictObject({ kind: z.array(z.enum(IDENTITY_KINDS)).min(1) }),
    z.strictObject({ exists: z.string().min(1) }),
    z.strictObject({ matches: attributeMap(pattern) }),
    z.strictObject({ before: attributeMap(date) }),
    z.strictObject({ after: attributeMap(date) }),
    z.strictObject({ within_days: attributeMap(z.number().int().min(0).max(3650)) }),
    z.strictObject({ not: conditionSchema }),
    z.strictObject({ all: z.array(conditionSchema).min(1) }),
    z.strictObject({ any: z.array(conditionSchema).min(1) }),
  ]),
);

const template = z.string().min(1).max(500);

/** Connector types whose accounts have passwords jml can scramble and set. */
export const PASSWORD_SYSTEM_TYPES: readonly string[] = ['ldap', 'ad'];

/** The safe behaviour by default where jml manages passwords; `keep` where it cannot. */
function credentialPolicy(type: string, given: z.output<typeof credentialsSchema>): CredentialPolicy {
  const managed = PASSWORD_SYSTEM_TYPES.includes(type);
  return {
    onDisable: given.on_disable ?? (managed ? 'scramble' : 'keep'),
    onEnable: given.on_enable ?? (managed ? 'new_secret' : 'keep'),
    ...(given.max_age_days !== undefined ? { maxAgeDays: given.max_age_days } : {}),
    ...(given.max_age_days_by_kind !== undefined ? { maxAgeDaysByKind: given.max_age_days_by_kind } : {}),
  };
}

const ageDays = z.number().int().min(1).max(3650);
const credentialsSchema = z.strictObject({
  on_disable: z.enum(['scramble', 'keep']).optional(),
  on_enable: z.enum(['new_secret', 'keep']).optional(),
  max_age_days: ageDays.optional().describe('days a credential in this system may go without being set or rotated before it is a stale_credential finding (default 90)'),
  max_age_days_by_kind: z.partialRecord(z.enum(CREDENTIAL_KINDS), ageDays).optional().describe('the same per credential kind (api_key, secret, token, certificate, password, ssh_key), before max_age_days'),
});

/** A week: long enough to correlate an account that belongs to someone (a missing HR record, a typo), short enough to close a real orphan. */
const DEFAULT_ORPHAN_GRACE_DAYS = 7;

export const systemSchema = z
  .strictObject({
    name,
    connector: z.strictObject({
      type: z.string().min(1),
      settings: z.record(z.string(), z.unknown()).default({}),
    }),
    owner: z.string().min(1).describe('identity key of the accountable human'),
    criticality: z.enum(CRITICALITIES).default('medium'),
    enforcement: z.enum(ENFORCEMENT_MODES).default('relative'),
    leaver: z
      .strictObject({
        action: z.enum(['disable', 'delete']).default('disable'),
        delete_after_days: z.number().int().min(0).max(3650).default(90),
      })
      .default({ action: 'disable', delete_after_days: 90 }),
    orphans: z
      .strictObject({
        disable_after_days: z.number().int().min(0).max(3650).default(DEFAULT_ORPHAN_GRACE_DAYS)
          .describe('under full enforcement, days after an orphan account is first found before jml disables it'),
      })
      .default({ disable_after_days: DEFAULT_ORPHAN_GRACE_DAYS }),
    correlation: z
      .strictObject({ account: z.string().min(1), identity: z.string().min(1) })
      .default({ account: 'externalId', identity: 'key' }),
    account: z
      .strictObject({
        name: template.optional(),
        attributes: z.record(z.string().min(1), template).default({}),
      })
      .default({ attributes: {} }),
    identity_provider: z.boolean().default(false),
    sessions: z.boolean().optional(),
    credentials: credentialsSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const asked = s.credentials && (s.credentials.on_disable === 'scramble' || s.credentials.on_enable === 'new_secret');
    if (asked && !PASSWORD_SYSTEM_TYPES.includes(s.connector.type)) {
      ctx.addIssue({ code: 'custom', path: ['credentials'], message: `jml sets passwords only in ${PASSWORD_SYSTEM_TYPES.join(' and ')} systems, not ${s.connector.type}; use keep or leave credentials out` });
    }
  })
  .transform(
    (s): SystemDef => ({
      name: s.name,
      connector: s.connector,
      owner: s.owner,
      criticality: s.criticality,
      enforcement: s.enforcement,
      leaver: { action: s.leaver.action, deleteAfterDays: s.leaver.delete_after_days },
      orphans: { disableAfterDays: s.orphans.disable_after_days },
      correlation: s.correlation,
      account: { name: s.account.name ?? null, attributes: s.account.attributes },
      identityProvider: s.identity_provider,
      sessions: s.sessions ?? s.identity_provider,
      credentials: credentialPolicy(s.connector.type, s.credentials ?? {}),
    }),
  );

export const entitlementSchema = z
  .strictObject({
    system: name,
    name: z.string().min(1),
    display_name: z.string().optional(),
    privileged: z.boolean().default(false),
    owner: z.string().min(1).optional().describe('identity key of the entitlement owner (reviews); the system owner when absent'),
    max_duration_days: z.number().int().min(1).max(3650).optional(),
    /** Entitlement templates only (a name with `{field|filter}`): jml creates the groups they name. */
    create_missing: z.boolean().optional(),
    /** Entitlement templates only: jml deletes a group it created once nobody holds it. */
    remove_empty: z.boolean().optional(),
    /** Entitlement templates only: the description of a created group, itself a template. */
    description: template.optional(),
  })
  .superRefine((e, ctx) => {
    if (isTemplate(e.name)) return;
    for (const key of ['create_missing', 'remove_empty', 'description'] as const) {
      if (e[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" applies only to an entitlement template (a name with {field|filter})` });
    }
  })
  .transform(
    (e): EntitlementDef => ({
      system: e.system,
      name: e.name,
      displayName: e.display_name ?? e.name,
      privileged: e.privileged,
      maxDurationDays: e.max_duration_days ?? null,
      ...(e.owner ? { owner: e.owner } : {}),
      // Plain entitlements keep their old shape (and so the policy hash); the loader rejects template keys on them.
      ...(isTemplate(e.name)
        ? { template: { createMissing: e.create_missing ?? false, removeEmpty: e.remove_empty ?? false, description: e.description ?? null } }
        : {}),
    }),
  );

const inducementSchema = z.union([
  z.strictObject({ role: name }).transform((i): Inducement => ({ type: 'role', role: i.role })),
  z
    .strictObject({ entitlement: entitlementRef })
    .transform((i): Inducement => ({ type: 'entitlement', ...i.entitlement })),
]);

export const roleSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    inducements: z.array(inducementSchema).default([]),
  })
  .transform((r): RoleDef => r);

export const ruleSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    when: conditionSchema,
    grant: z
      .strictObject({
        roles: z.array(name).default([]),
        entitlements: z.array(entitlementRef).default([]),
      })
      .refine((g) => g.roles.length + g.entitlements.length > 0, 'grant at least one role or entitlement'),
  })
  .transform((r): RuleDef => r);

const APPROVER_KINDS = ['manager', 'sponsor', 'owner', 'system_owner'] as const;
const approverRef = z.union([
  z.enum(APPROVER_KINDS).transform((type): ApproverRef => ({ type })),
  z.array(z.string().min(1)).min(1).transform((keys): ApproverRef => ({ type: 'identities', keys })),
]);

/** A stage: `manager`, or `{ name, approver | approvers, timeout_hours, escalate_to }`. */
const approvalStageSchema = z.union([
  z.enum(APPROVER_KINDS).transform((type): ApprovalStageDef => ({ name: type, approver: { type }, timeoutHours: 72, escalateTo: null })),
  z
    .strictObject({
      name: name.optional(),
      approver: z.enum(APPROVER_KINDS).optional(),
      approvers: z.array(z.string().min(1)).min(1).optional(),
      timeout_hours: z.number().positive().max(24 * 90).default(72),
      escalate_to: approverRef.optional(),
    })
    .refine((s) => (s.approver === undefined) !== (s.approvers === undefined), 'give either approver or approvers')
    .transform((s): ApprovalStageDef => ({
      name: s.name ?? s.approver ?? 'approvers',
      approver: s.approvers ? { type: 'identities', keys: s.approvers } : { type: s.approver! },
      timeoutHours: s.timeout_hours,
      escalateTo: s.escalate_to ?? null,
    })),
]);

/** Approval policies: which entitlement requests or joiners need approval, by whom, in stages. */
export const approvalSchema = z
  .strictObject({
    name,
    entitlements: z.array(z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.-]*:\S+)$/, 'write "system:entitlement", "system:*" or "*"')).min(1).optional(),
    privileged: z.boolean().optional(),
    joiners: conditionSchema.optional(),
    /** `true`: edits made in jml (console, API) that would give access wait for these stages. */
    edits: z.literal(true).optional(),
    when: conditionSchema.optional(),
    stages: z.array(approvalStageSchema).min(1),
    /** Nobody in the requester's management chain approves (four-eyes for privileged access). */
    approver_outside_chain: z.boolean().optional(),
  })
  .refine((a) => [a.entitlements, a.joiners, a.edits].filter((v) => v !== undefined).length === 1, 'give one of entitlements, joiners or edits')
  .transform(
    (a): ApprovalPolicy => ({
      name: a.name,
      appliesTo: a.joiners ? 'joiner' : a.edits ? 'edit' : 'entitlement',
      entitlements: a.entitlements ?? [],
      privileged: a.privileged ?? null,
      when: a.joiners ?? a.when ?? null,
      stages: a.stages,
      ...(a.approver_outside_chain ? { approverOutsideChain: true } : {}),
    }),
  );

const sodPattern = z
  .string()
  .regex(/^([A-Za-z0-9][A-Za-z0-9_.-]*):(\S+)$/, 'write a pattern as "system:glob" (e.g. "erp:approve-*")')
  .transform((ref) => {
    const at = ref.indexOf(':');
    return { system: ref.slice(0, at), pattern: ref.slice(at + 1) };
  });

const sodSideSchema = z
  .strictObject({
    entitlements: z.array(entitlementRef).default([]),
    roles: z.array(name).default([]),
    patterns: z.array(sodPattern).default([]),
  })
  .refine((s) => s.entitlements.length + s.roles.length + s.patterns.length > 0, 'name at least one entitlement, role or pattern')
  .transform((s): SodSide => s);

export const SOD_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** A separation-of-duties rule: two conflicting sets; whoever holds from both is in violation. */
export const sodRuleSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    conflict: z.tuple([sodSideSchema, sodSideSchema]).describe('the two sets no identity may combine; their order does not matter'),
    severity: z.enum(SOD_SEVERITIES).default('high'),
    owner: z.string().min(1).describe('identity key of the person who owns the rule and approves its mitigations'),
    mitigations: z.array(name).default([]).describe('compensating controls a mitigation may name; empty: violations are refused, never mitigated'),
    max_mitigation_days: z.number().int().min(1).max(3650).default(90),
  })
  .transform((r): SodRule => ({
    name: r.name,
    description: r.description,
    sides: r.conflict,
    severity: r.severity,
    owner: r.owner,
    mitigations: r.mitigations,
    maxMitigationDays: r.max_mitigation_days,
  }));

/** A profile per user type: `when` → a kit of equipment and birthright roles. */
export const profileSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    when: conditionSchema,
    kit: z.array(z.union([
      name.transform((kind) => ({ kind, model: null })),
      z.strictObject({ kind: name, model: z.string().min(1).max(128).optional() }).transform((k) => ({ kind: k.kind, model: k.model ?? null })),
    ])).default([]),
    roles: z.array(name).default([]),
  })
  .refine((p) => p.kit.length + p.roles.length > 0, 'give a kit, roles, or both')
  .transform((p): ProfileDef => p);

/** One policy file: any of the eight collections, each optional. */
export const policyFileSchema = z.strictObject({
  systems: z.array(systemSchema).optional(),
  entitlements: z.array(entitlementSchema).optional(),
  roles: z.array(roleSchema).optional(),
  rules: z.array(ruleSchema).optional(),
  approvals: z.array(approvalSchema).optional(),
  sod: z.array(sodRuleSchema).optional(),
  reviews: z.array(reviewSchema).optional(),
  profiles: z.array(profileSchema).optional(),
});
export type PolicyFile = z.output<typeof policyFileSchema>;

/**
 * JSON Schema (draft 2020-12) for one policy file, for editors: point the YAML
 * language server at it with `# yaml-language-server: $schema=policy.schema.json`.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policyFileSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'jml policy file',
  };
}
