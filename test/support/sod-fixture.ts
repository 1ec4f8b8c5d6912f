/** A policy with one SoD rule over a fake ERP, for SoD tests. */
/** Payments: whoever can create a payment must not approve one. */
export const SOD_POLICY: Readonly<Record<string, string>> = {
  'policy.yaml': `systems:
  - name: erp
    connector: { type: fake, settings: { groups: [pay-create, pay-approve, pay-view] } }
    owner: OWNER
    enforcement: full
    correlation: { account: identity_key, identity: key }
entitlements:
  - { system: erp, name: pay-create }
  - { system: erp, name: pay-approve, privileged: true }
  - { system: erp, name: pay-view }
sod:
  - name: payments
    description: nobody both creates and approves a payment
    conflict:
      - entitlements: [erp:pay-create]
      - patterns: ["erp:pay-approve*"]
    severity: critical
    owner: CFO
    mitigations: [dual-signature-review]
    max_mitigation_days: 30
`,
};

