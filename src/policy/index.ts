/**
 * Policy as code: load and validate a policy directory, its JSON Schema for
 * editors, and the starter policy `jml init` writes.
 */
export { loadPolicy, policyHash, formatProblem, policyDirDigest, filesDigest } from './policy-loader.ts';
export type { LoadedPolicy, PolicyProblem, PolicyFileInfo } from './policy-loader.ts';
export { policyJsonSchema } from './policy-schema.ts';
export { scaffoldPolicy } from './policy-scaffold.ts';
