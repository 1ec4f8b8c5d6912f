import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifiedEmail } from './oidc-sign-in.ts';

describe('the email a first OIDC sign-in is matched by', () => {
  it('is the email the provider marks verified, as a boolean or as the string "true"', () => {
    assert.equal(verifiedEmail({ email: 'ada@example.org', email_verified: true }, {}), 'ada@example.org');
    assert.equal(verifiedEmail({ email: 'ada@example.org', email_verified: 'true' }, {}), 'ada@example.org');
  });

  it('is none when the claim is missing, unless the deployment trusts emails without it', () => {
    assert.equal(verifiedEmail({ email: 'ada@example.org' }, {}), undefined);
    assert.equal(verifiedEmail({ email: 'ada@example.org' }, { trustEmailWithoutVerifiedClaim: true }), 'ada@example.org');
  });

  it('is never an email marked unverified, whatever the deployment trusts', () => {
    assert.equal(verifiedEmail({ email: 'ada@example.org', email_verified: false }, { trustEmailWithoutVerifiedClaim: true }), undefined);
    assert.equal(verifiedEmail({ email: 'ada@example.org', email_verified: 'false' }, { trustEmailWithoutVerifiedClaim: true }), undefined);
    assert.equal(verifiedEmail({ email: ['ada@example.org'], email_verified: true }, {}), undefined);
  });
});
