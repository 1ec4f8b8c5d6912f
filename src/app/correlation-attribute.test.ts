import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correlationAttributeFor } from './connectors-from-policy.ts';

const system = (account: string) => ({ name: 'saas', correlation: { account, identity: 'key' } });

describe('the attribute a directory or SCIM connector correlates accounts by', () => {
  it('is the system’s correlation.account when the connector sets none', () => {
    assert.equal(correlationAttributeFor(system('employeeNumber'), undefined), 'employeeNumber');
  });

  it('is the connector’s own default when correlation is by name or account id', () => {
    assert.equal(correlationAttributeFor(system('name'), undefined), undefined);
    assert.equal(correlationAttributeFor(system('accountId'), 'externalId'), 'externalId');
  });

  it('is refused, naming the system and both values, when the connector and correlation.account disagree', () => {
    assert.throws(() => correlationAttributeFor(system('externalId'), 'employeeNumber'), (error: Error) =>
      /system saas: connector setting correlation_attribute is employeeNumber but correlation\.account is externalId/.test(error.message));
    assert.equal(correlationAttributeFor(system('externalId'), 'externalId'), 'externalId');
  });
});
