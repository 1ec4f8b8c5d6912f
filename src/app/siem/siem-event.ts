/**
 * What an audit entry means to a SIEM: which OCSF class and activity it is,
 * how severe, and which account or privileges it is about. Every format
 * (OCSF, CEF, syslog, HEC) starts from this one classification, so they agree.
 */
import type { AuditEntry } from '../../store/audit-log.ts';

/** OCSF classes jml emits (1.8 numbering; 1.9 replaces 3001 and 3005, see siem-ocsf.ts). */
export type SiemClass = 'account_change' | 'authentication' | 'user_access' | 'entity_management' | 'base';

export interface SiemEvent {
  readonly entry: AuditEntry;
  readonly cls: SiemClass;
  /** OCSF activity_id within the class (99: other). */
  readonly activityId: number;
  readonly activityName: string;
  /** OCSF severity_id: 1 informational … 5 critical. */
  readonly severityId: number;
  /** 1 success, 2 failure. */
  readonly statusId: 1 | 2;
  /** The account or identity the entry is about. */
  readonly target: string;
  /** `system:entitlement` granted or revoked, for user_access. */
  readonly privileges: readonly string[];
  readonly system: string | null;
}

const ACCOUNT_ACTIVITY: Readonly<Record<string, readonly [number, string]>> = {
  create_account: [1, 'Create'], enable_account: [2, 'Enable'], disable_account: [5, 'Disable'], delete_account: [6, 'Delete'],
  rotate_credential: [4, 'Password Reset'], revoke_credential: [4, 'Password Reset'], update_attributes: [99, 'Other'], revoke_sessions: [99, 'Other'],
};
const LIFECYCLE_ACTIVITY: Readonly<Record<string, readonly [number, string]>> = {
  joiner: [1, 'Create'], mover: [3, 'Update'], leaver: [11, 'Deactivate'], rehire: [10, 'Activate'],
};
const SEVERITY: Readonly<Record<string, number>> = { low: 2, medium: 3, high: 4, critical: 5 };

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Classifies one audit entry.
 * @example classify(entry).cls === 'authentication' // for auth.signed_in
 */
export function classify(entry: AuditEntry): SiemEvent {
  const details = record(entry.details);
  const after = record(entry.after);
  const base = { entry, target: entry.subject, privileges: [] as string[], system: typeof details.system === 'string' ? details.system : null, statusId: 1 as const, severityId: 1 };
  const [noun = '', verb = ''] = entry.action.split('.', 2);
  if (noun === 'auth') {
    const failed = verb === 'sign_in_failed' || verb === 'token_refused';
    return { ...base, cls: 'authentication', activityId: 1, activityName: 'Logon', statusId: failed ? 2 : 1, severityId: failed ? 3 : 1 };
  }
  if (noun === 'change' && typeof details.kind === 'string') {
    const failed = verb === 'parked' || verb === 'failed';
    const status = failed ? { statusId: 2 as const, severityId: 4 } : {};
    const grant = details.kind === 'add_grant' || details.kind === 'remove_grant';
    if (grant) {
      const privilege = typeof details.entitlement === 'string' ? [`${base.system ?? ''}:${details.entitlement}`] : [];
      return { ...base, ...status, cls: 'user_access', activityId: details.kind === 'add_grant' ? 1 : 2, activityName: details.kind === 'add_grant' ? 'Assign Privileges' : 'Revoke Privileges', privileges: privilege };
    }
    const [activityId, activityName] = ACCOUNT_ACTIVITY[details.kind] ?? [99, 'Other'];
    return { ...base, ...status, cls: 'account_change', activityId, activityName };
  }
  if (noun === 'user') {
    const activity: readonly [number, string] = verb === 'created' ? [1, 'Create'] : verb === 'password_changed' ? [3, 'Password Change'] : verb === 'password_reset' ? [4, 'Password Reset'] : [99, 'Other'];
    return { ...base, cls: 'account_change', activityId: activity[0], activityName: activity[1] };
  }
  if (((noun === 'request' || noun === 'exception') && verb === 'approved') || noun === 'assignment') {
    const refs = Array.isArray(details.entitlements) ? details.entitlements.map(record) : [record(details)];
    const privileges = refs.filter((r) => typeof r.system === 'string' && typeof r.entitlement === 'string').map((r) => `${r.system}:${r.entitlement}`);
    const revoke = noun === 'assignment';
    return { ...base, cls: 'user_access', activityId: revoke ? 2 : 1, activityName: revoke ? 'Revoke Privileges' : 'Assign Privileges', privileges };
  }
  if (noun === 'lifecycle' || noun === 'identity') {
    const type = noun === 'lifecycle' ? verb : typeof after.type === 'string' ? after.type : '';
    const [activityId, activityName] = LIFECYCLE_ACTIVITY[type] ?? [3, 'Update'];
    return { ...base, cls: 'entity_management', activityId, activityName };
  }
  if (noun === 'alert' || noun === 'sod') {
    const severityId = typeof details.severity === 'string' ? (SEVERITY[details.severity] ?? 4) : 4;
    return { ...base, cls: 'base', activityId: 99, activityName: 'Other', severityId };
  }
  return { ...base, cls: 'base', activityId: 99, activityName: 'Other' };
}
