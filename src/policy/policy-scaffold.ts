/**
 * The policy `jml init` writes: a small, realistic organisation (a directory,
 * a SaaS code host, a VPN and a manual finance system), commented so that the
 * files teach the format. It must always load cleanly (a test checks it).
 */
import { policyJsonSchema } from './policy-schema.ts';

const HEADER = '# yaml-language-server: $schema=./policy.schema.json\n';

const SYSTEMS = `${HEADER}#
# Systems: every downstream application, directory or manual process jml manages.
#
#   connector    how jml reaches it: ldap, ad, scim, manual, simulated. Settings never
#                hold secrets: store them with \`jml secret set\`, or name the environment
#                variable that holds one. Every setting: docs/connectors.md.
#   owner        identity key of the accountable human; receives the system's tasks.
#   enforcement  how much of the system jml owns (midPoint's modes):
#                  none      report only: jml plans no change in this system.
#                  positive  jml adds what policy desires and never removes anything.
#                  relative  jml also removes what it assigned itself and no longer
#                            desires; access granted by others is left alone.
#                  full      anything not justified by policy, a request or an
#                            exception is removed.
#   leaver       accounts of leavers are always disabled first. With
#                action: delete they are deleted delete_after_days after the end date.
#   orphans      under full enforcement, an account that matches no identity is
#                disabled (never deleted) disable_after_days (default 7) after
#                reconcile first reports it. Other modes only report orphans.
#   correlation  how an existing account is matched to an identity: an account
#                attribute equal to an identity field. Use an immutable key, never a name.
#   account      how attributes of accounts jml creates are derived. Templates use
#                identity fields in braces, with filters: lower, upper, trim, ascii.
#                Default login name: first.last (lower-case ASCII), else the identity key.
#   identity_provider  the system people sign in through: disabled first for a
#                leaver, and its sessions revoked before other accounts are disabled.
#   credentials  ldap and ad only: on_disable scramble (default) replaces the password
#                of a disabled account; on_enable new_secret (default) gives a created or
#                re-enabled account a new one, delivered once through a task to the
#                manager (needs JML_MASTER_KEY). "keep" leaves passwords alone.
systems:
  - name: directory
    connector:
      type: ldap
      settings:
        url: ldaps://ldap.example.internal
        base_dn: dc=example,dc=com
        users_ou: ou=people,dc=example,dc=com      # where accounts are created and read
        groups_ou: ou=groups,dc=example,dc=com     # where groups (entitlements) live
        bind_dn: cn=jml,ou=services,dc=example,dc=com
        bind_password_env: JML_LDAP_PASSWORD       # or: jml secret set directory bind_password
        # ca_file: /etc/jml/ldap-ca.pem            # the CA that signed the server's certificate, if not in the system store
    owner: E1001              # head of IT
    criticality: critical
    enforcement: full
    identity_provider: true
    leaver: { action: delete, delete_after_days: 90 }
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes:
        mail: "{email}"
        givenName: "{first_name}"
        sn: "{last_name}"
        title: "{title}"

  # Active Directory instead (Samba AD or Windows): type ad, over LDAPS or StartTLS.
  # Remove the leading "# " of the lines below (and add its groups to entitlements.yaml).
  # - name: corp-ad
  #   connector:
  #     type: ad
  #     settings:
  #       url: ldaps://dc1.corp.example.com:636
  #       ca_file: /etc/jml/corp-ca.pem
  #       base_dn: DC=corp,DC=example,DC=com
  #       users_ou: OU=Staff,DC=corp,DC=example,DC=com
  #       groups_ou: OU=Groups,DC=corp,DC=example,DC=com
  #       bind_dn: CN=svc-jml,OU=Service Accounts,DC=corp,DC=example,DC=com
  #       bind_password_env: JML_AD_PASSWORD      # or: jml secret set corp-ad bind_password
  #   owner: E1001
  #   enforcement: full
  #   correlation: { account: employeeID, identity: key }
  #   account:
  #     name: "{first_name|ascii|lower}.{last_name|ascii|lower}"   # sAMAccountName
  #     attributes: { givenName: "{first_name}", sn: "{last_name}", mail: "{email}" }

  - name: github
    connector:
      type: scim
      settings: { base_url: "https://scim.example.com/github", token_env: JML_GITHUB_SCIM_TOKEN }
    owner: E1002              # engineering manager
    criticality: high
    enforcement: relative     # people also join teams by hand; jml removes only what it gave
    sessions: true
    leaver: { action: disable }
    correlation: { account: externalId, identity: key }
    account:
      name: "{email|lower}"
      attributes: { displayName: "{display_name}", emails: "{email}" }

  - name: vpn
    connector:
      type: scim
      settings: { base_url: "https://vpn.example.internal/scim/v2", token_env: JML_VPN_TOKEN }
    owner: E1001
    criticality: high
    enforcement: full
    sessions: true
    leaver: { action: delete, delete_after_days: 30 }

  - name: finance-ledger
    connector:
      type: manual            # no API: each change becomes a task for the owner
    owner: E1003              # finance controller
    criticality: high
    enforcement: positive     # the owner grants by hand; jml never removes by itself
    leaver: { action: disable }
`;

const ENTITLEMENTS = `${HEADER}#
# Entitlements: what can be granted in each system (groups, roles, licences, profiles).
# Roles and rules refer to them as "system:name".
#   privileged         marks administrative access (reviews and approvals treat it strictly).
#   max_duration_days  the longest a request or exception may grant it for.
# A name with {field|filter} is an entitlement template: each identity holds the group its
# attributes name, and jml can create and remove those groups (see docs/policy.md), e.g.
#   - { system: directory, name: "dept-{department|slug}", create_missing: true, remove_empty: true }
entitlements:
  - { system: directory, name: all-staff, display_name: All staff }
  - { system: directory, name: engineering, display_name: Engineering department }
  - { system: directory, name: finance, display_name: Finance department }
  - { system: directory, name: contractors, display_name: External contractors }
  - { system: github, name: members, display_name: Organisation members }
  - { system: github, name: developers, display_name: Developers team }
  - { system: github, name: admins, display_name: Organisation owners, privileged: true, max_duration_days: 30 }
  - { system: vpn, name: standard, display_name: Standard VPN profile }
  - { system: vpn, name: admin, display_name: Network admin profile, privileged: true, max_duration_days: 7 }
  - { system: finance-ledger, name: viewer, display_name: Read-only ledger access }
  - { system: finance-ledger, name: approver, display_name: Payment approver, privileged: true, max_duration_days: 90 }
`;

const ROLES = `${HEADER}#
# Roles: named bundles. Inducements are entitlements ("system:name") or other roles.
# A role may include roles that include roles, but never itself (a cycle is an error).
roles:
  - name: staff
    description: Everyone who works here, employee or contractor
    inducements:
      - entitlement: vpn:standard

  - name: employee-base
    description: Birthright access of every employee
    inducements:
      - role: staff
      - entitlement: directory:all-staff

  - name: contractor-base
    description: Birthright access of contractors, sponsored by an employee
    inducements:
      - role: staff
      - entitlement: directory:contractors

  - name: engineer
    description: Builds and ships the product
    inducements:
      - entitlement: directory:engineering
      - entitlement: github:members
      - entitlement: github:developers

  - name: finance-analyst
    description: Reads the books
    inducements:
      - entitlement: directory:finance
      - entitlement: finance-ledger:viewer
`;

const RULES = `${HEADER}#
# Rules: birthright access. When an identity matches \`when\`, it should hold what
# \`grant\` lists. Every matching rule applies; access stays while any reason holds.
#
# The condition language (declarative, no code):
#   equals:      { department: Engineering }           every listed field equals its value
#   in:          { location: [Berlin, Paris] }         the field is one of the values
#   kind:        [employee, contractor]                the identity's kind is one of these
#   exists:      title                                 the field is set and not empty
#   matches:     { title: "^Senior " }                 regular expression (max 200 characters)
#   before:      { start_date: "2027-01-01" }          date field is before the date ("today" works too)
#   after:       { end_date: today }                   date field is after the date
#   within_days: { end_date: 30 }                      date field is between today and 30 days from now
#   not:         <condition>
#   all:         [<condition>, ...]                    every condition holds
#   any:         [<condition>, ...]                    at least one holds
# Fields: key, kind, status, source, start_date, end_date, owner, sponsor, and any
# attribute from the sources (first_name, department, title, location, cost_center, ...).
# Comparisons are exact and case-sensitive.
rules:
  - name: every-employee
    when: { kind: [employee] }
    grant: { roles: [employee-base] }

  - name: every-contractor
    when: { kind: [contractor, contingent] }
    grant: { roles: [contractor-base] }

  - name: engineering
    description: Engineers, employed or contracted, outside the interns programme
    when:
      all:
        - kind: [employee, contractor]
        - equals: { department: Engineering }
        - not: { matches: { title: "[Ii]ntern" } }
    grant: { roles: [engineer] }

  - name: finance
    when:
      all:
        - equals: { department: Finance }
        - in: { location: [Berlin, London] }
    grant: { roles: [finance-analyst] }
`;

const APPROVALS = `${HEADER}#
# Approval policies: who must approve, in which stages. The first policy that
# matches decides; a request no policy matches needs the beneficiary's manager,
# then the system owner. Nobody approves their own request or one for
# themselves (their manager does instead); an undecided stage escalates to the
# approvers' managers (or escalate_to) after timeout_hours (default 72).
#
#   - name: privileged
#     entitlements: ["*"]            # "system:name", "system:*" or "*"
#     privileged: true               # only privileged entitlements
#     stages:
#       - manager                    # manager, sponsor, owner or system_owner
#       - system_owner
#       - { name: security, approvers: ["S100", "S101"], timeout_hours: 24 }
#   - name: contractor-joiners
#     joiners: { kind: [contractor] } # held before activation until approved
#     stages: [sponsor]
approvals: []
`;

/**
 * The files of a starter policy, by file name → content. `jml init` writes them
 * into the policy directory, together with `policy.schema.json` for editors.
 */
export function scaffoldPolicy(): Readonly<Record<string, string>> {
  return {
    'systems.yaml': SYSTEMS,
    'entitlements.yaml': ENTITLEMENTS,
    'roles.yaml': ROLES,
    'rules.yaml': RULES,
    'approvals.yaml': APPROVALS,
    'policy.schema.json': `${JSON.stringify(policyJsonSchema(), null, 2)}\n`,
  };
}
