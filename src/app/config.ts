/**
 * The project configuration: `jml.config.yaml` (or --config / JML_CONFIG),
 * overridden by environment variables. Every setting has a default, so a fresh
 * checkout runs without any file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { JmlError } from '../domain/errors.ts';
import { sourceConfigSchema, type SourceConfig } from '../sources/source-config.ts';
import { NOTIFICATION_TOPICS } from '../notify/notification.ts';
import { SIEM_FORMATS } from './siem/siem-formats.ts';

/** One SIEM stream `jml worker` runs (src/jobs/audit-stream-job.ts); its cursor is kept under its name. */
const auditStreamSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _, starting with a letter'),
    target: z.string().regex(/^(file|syslog|syslog\+tls|https):\/\/\S+$/, 'a URL: file:///path, syslog://host:port, syslog+tls://host:port or https://host/services/collector/event'),
    /** Syslog targets always get syslog framing, whatever is written here. */
    format: z.enum(SIEM_FORMATS).default('ocsf'),
    ocsf_version: z.enum(['1.8', '1.9']).default('1.8'),
    batch_size: z.number().int().min(1).max(10_000).default(500),
    /** PEM of the CA that signed the receiver's certificate (syslog+tls, https). */
    ca_file: z.string().optional(),
    /** The environment variable holding the HEC token (https targets); the token never goes in this file. */
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('JML_HEC_TOKEN'),
  })
  .strict();
export type AuditStreamConfig = z.output<typeof auditStreamSchema>;

const timezone = z.string().refine(isTimeZone, { message: 'not an IANA time zone name (e.g. Europe/Berlin)' });

/** The file's settings and their defaults; config-file.ts validates a file against it. */
export const configSchema = z
  .object({
    /** The organisation's time zone: effective dates are interpreted in it. */
    timezone: timezone.default('UTC'),
    /** Embedded PGlite data directory (ignored when database_url is set). */
    data_dir: z.string().default('.jml'),
    /** PostgreSQL server; usually given as DATABASE_URL instead, to keep the password out of files. */
    database_url: z.string().optional(),
    policy_dir: z.string().default('policy'),
    /**
     * The nice value batch commands (`jml import`, `plan`, `reconcile`) run at, so the console's
     * API keeps the CPU while they work (src/cli/batch-priority.ts); 0 keeps the normal priority.
     */
    batch_nice: z.number().int().min(0).max(19).default(10),
    /** Identities from different sources are one identity when this attribute matches (case-insensitive). */
    correlation: z.object({ attribute: z.string().default('email') }).strict().default({ attribute: 'email' }),
    /** An import whose leavers exceed max(minimum, percent % of the source's active identities) is held. */
    mass_change: z
      .object({ minimum: z.number().int().min(0).default(10), percent: z.number().min(0).max(100).default(5) })
      .strict()
      .default({ minimum: 10, percent: 5 }),
    /** Exceptions: reported when ending within `warn_days`; reviewed every `review_every_days` (src/app/exception-review.ts). */
    exceptions: z
      .object({ warn_days: z.number().int().min(0).default(14), review_every_days: z.number().int().min(1).default(90) })
      .strict()
      .default({ warn_days: 14, review_every_days: 90 }),
    /**
     * Lost or stolen equipment (src/app/assets/lost-device-report.ts): hours from a report to every revocation
     * confirmed, and the severity of the `lost_asset` finding for a lost and for a stolen item.
     */
    assets: z
      .object({
        lost_device_sla_hours: z.number().min(0.25).max(168).default(4),
        severity: z
          .object({ lost: z.enum(['low', 'medium', 'high', 'critical']).default('medium'), stolen: z.enum(['low', 'medium', 'high', 'critical']).default('high') })
          .strict()
          .default({ lost: 'medium', stolen: 'high' }),
      })
      .strict()
      .default({ lost_device_sla_hours: 4, severity: { lost: 'medium', stolen: 'high' } }),
    sources: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), sourceConfigSchema).default({}),
    /**
     * Four-eyes: `plans: true` — a plan's approver must not be the person who computed it.
     * Unset, it is on with a PostgreSQL server (a shared deployment) and off on the embedded database.
     */
    four_eyes: z.object({ plans: z.boolean().optional() }).strict().default({}),
    /** Audit anchoring (src/app/audit/): the Ed25519 key file, where checkpoints go, and how often the worker takes one. */
    audit: z
      .object({
        key_file: z.string().optional(),
        checkpoint_file: z.string().optional(),
        checkpoint_url: z.string().url().optional(),
        checkpoint_cron: z.string().default('0 * * * *'),
        /** SIEM streams the worker runs continuously (at-least-once, from a checkpointed cursor). */
        streams: z
          .array(auditStreamSchema)
          .max(20)
          .superRefine((streams, ctx) => {
            const seen = new Set<string>();
            streams.forEach((s, i) => {
              if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a second stream named ${s.name}: each stream keeps its cursor under its name` });
              seen.add(s.name);
            });
          })
          .default([]),
      })
      .strict()
      .default({ checkpoint_cron: '0 * * * *', streams: [] }),
    /** The workers' own schedule: `plan_cron` is when they compute a full plan (the safety net for a lost replan request); '' never. */
    worker: z.object({ plan_cron: z.string().default('30 * * * *') }).strict().default({ plan_cron: '30 * * * *' }),
    /**
     * Multi-factor sign-in for the console: holders of `required_roles` must enrol a passkey or an authenticator
     * app; sensitive actions ask for the factor again when the last one is older than `step_up_minutes`.
     */
    mfa: z
      .object({
        required_roles: z.array(z.enum(['admin', 'security', 'hr'])).default(['admin', 'security', 'hr']),
        step_up_minutes: z.number().int().min(1).max(720).default(15),
      })
      .strict()
      .default({ required_roles: ['admin', 'security', 'hr'], step_up_minutes: 15 }),
    /**
     * Notifications (review reminders and escalations, …): email over SMTP and signed webhooks, delivered by
     * `jml worker` from the job queue. Secrets are named by environment variable, never written here.
     */
    notifications: z
      .object({
        /** The console's address, for links in emails. */
        base_url: z.string().url().default('http://127.0.0.1:8080'),
        smtp: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false),
            require_tls: z.boolean().default(true),
            ca_file: z.string().optional(),
            from: z.string().min(3),
            user: z.string().optional(),
            password_env: z.string().optional(),
          })
          .strict()
          .optional(),
        webhooks: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z][a-z0-9_-]*$/),
                url: z.string().url(),
                secret_env: z.string().min(1),
                topics: z.array(z.enum(NOTIFICATION_TOPICS)).min(1).default([...NOTIFICATION_TOPICS]),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ base_url: 'http://127.0.0.1:8080', webhooks: [] }),
  })
  .strict();

export type JmlConfigFile = z.output<typeof configSchema>;

export interface JmlConfig extends JmlConfigFile {
  /** The file the settings came from, or null when defaults only. */
  readonly file: string | null;
  readonly sources: Readonly<Record<string, SourceConfig>>;
}

export const DEFAULT_SOURCES: Readonly<Record<string, SourceConfig>> = {
  hr: sourceConfigSchema.parse({ type: 'hr' }),
  vendor: sourceConfigSchema.parse({ type: 'vendor' }),
  nhi: sourceConfigSchema.parse({ type: 'nhi', format: 'yaml' }),
};

export interface ConfigOverrides {
  readonly configFile?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly policyDir?: string | undefined;
}

/**
 * Loads the configuration. Precedence: command-line flag, environment
 * variable, file, default. A named file that is missing is an error; the
 * default file may be absent.
 */
export async function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<JmlConfig> {
  const named = overrides.configFile ?? env.JML_CONFIG;
  const file = path.resolve(named ?? 'jml.config.yaml');
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || named) {
      throw new JmlError('invalid_input', `cannot read the configuration file ${file}: ${(cause as Error).message}`, { cause });
    }
  }
  // Without a file the YAML library is not loaded (config-file.ts).
  const parsed = text === null ? configSchema.parse({}) : (await import('./config-file.ts')).parseConfigText(text, file);
  const merged = {
    ...parsed,
    timezone: env.JML_TIMEZONE ?? parsed.timezone,
    data_dir: overrides.dataDir ?? env.JML_DATA_DIR ?? parsed.data_dir,
    database_url: env.DATABASE_URL || parsed.database_url,
    policy_dir: overrides.policyDir ?? env.JML_POLICY_DIR ?? parsed.policy_dir,
    batch_nice: env.JML_BATCH_NICE ? batchNiceFromEnv(env.JML_BATCH_NICE) : parsed.batch_nice,
    sources: { ...DEFAULT_SOURCES, ...parsed.sources },
    audit: {
      ...parsed.audit,
      key_file: env.JML_AUDIT_KEY_FILE || parsed.audit.key_file,
      checkpoint_file: env.JML_AUDIT_CHECKPOINT_FILE || parsed.audit.checkpoint_file,
    },
    file: text === null ? null : file,
  };
  if (!isTimeZone(merged.timezone)) throw new JmlError('invalid_input', `JML_TIMEZONE: "${merged.timezone}" is not an IANA time zone name`);
  return merged;
}

/**
 * The configured source of that name; an unknown name (including one such as
 * "constructor" that only an object's prototype holds) is invalid input.
 */
export function configuredSource(config: Pick<JmlConfigFile, 'sources'>, name: string): SourceConfig {
  if (!Object.hasOwn(config.sources, name)) {
    throw new JmlError('invalid_input', `unknown source "${name}"; configured sources: ${Object.keys(config.sources).join(', ')}`);
  }
  return config.sources[name]!;
}

/** Whether a plan's author is barred from approving it: as configured, else on exactly when a PostgreSQL server is used. */
export function fourEyesOnPlans(config: Pick<JmlConfigFile, 'four_eyes' | 'database_url'>): boolean {
  return config.four_eyes.plans ?? Boolean(config.database_url);
}

function batchNiceFromEnv(value: string): number {
  const nice = Number(value);
  if (!/^[0-9]{1,2}$/.test(value.trim()) || nice > 19) throw new JmlError('invalid_input', `JML_BATCH_NICE: "${value}" is not a nice value from 0 to 19`);
  return nice;
}

/**
 * Zone names already checked: building a formatter to check one costs tens of microseconds, and settings are parsed per request.
 * UTC, the default, is known from the start: the first formatter loads ICU's time-zone data, ~25 ms of CPU in a CLI command.
 */
const knownZones = new Map<string, boolean>([['UTC', true]]);

function isTimeZone(name: string): boolean {
  let known = knownZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: name });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 1_000) knownZones.set(name, known);
  }
  return known;
}
