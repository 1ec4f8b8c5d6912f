/**
 * Writes the JSON Schema of policy files, for editors:
 *   node scripts/policy-schema.ts [out-file]   (default: policy.schema.json)
 */
import { writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../src/policy/policy-schema.ts';

const out = process.argv[2] ?? 'policy.schema.json';
writeFileSync(out, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
