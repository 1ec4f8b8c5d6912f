/**
 * Where connectors and apply write their audit entries. The hash-chained
 * `audit_log` is written by src/store/audit-log.ts; this narrow port lets
 * connectors and the apply executor depend on "something that appends" and be
 * wired to the real log (`{ append: (e) => appendAudit(db, e) }`) at the edge.
 */

export interface AuditEntryInput {
  /** Who acted: a person's key, or `system:<name>` for jml itself. */
  readonly actor: string;
  /** Dotted verb, e.g. `task.opened`, `change.confirmed`. */
  readonly action: string;
  /** What it happened to, e.g. `task:<id>`, `change:<id>`. */
  readonly subject: string;
  /** Why it happened, e.g. `plan:<id>`, `cli`, `api`. */
  readonly trigger: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditSink {
  append(entry: AuditEntryInput): Promise<void>;
}

/** An in-memory sink for tests and dry runs: entries are kept in order. */
export function memoryAuditSink(): AuditSink & { readonly entries: readonly AuditEntryInput[] } {
  const entries: AuditEntryInput[] = [];
  return {
    entries,
    append: async (entry) => {
      entries.push(entry);
    },
  };
}
