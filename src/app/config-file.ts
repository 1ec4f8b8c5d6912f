/**
 * Reading `jml.config.yaml` itself: YAML text to validated settings, with
 * problems that name file, line and path. A module of its own so that a command
 * run without a configuration file (defaults and flags only) does not load the
 * YAML library: 72 modules, ~40 ms of CPU in every such command.
 */
import { LineCounter, parseDocument } from 'yaml';
import { JmlError } from '../domain/errors.ts';
import { flattenIssues, formatPath, offsetOf } from '../policy/yaml-problems.ts';
import type { PathSegment } from '../policy/policy-check.ts';
import { configSchema, type JmlConfigFile } from './config.ts';

/** Parses and validates configuration text; problems name file, line and path. */
export function parseConfigText(text: string, file: string): JmlConfigFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new JmlError('invalid_input', `${file}:${lineCounter.linePos(e.pos[0]).line} ${e.message}`);
  }
  const data = doc.toJS() ?? {};
  const result = configSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = flattenIssues(result.error.issues, data).map((issue) => {
    const line = lineCounter.linePos(offsetOf(doc, issue.path as readonly PathSegment[])).line;
    return { file, line, path: formatPath(issue.path), message: issue.message };
  });
  throw new JmlError('invalid_input', problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`).join('\n'), { details: { problems } });
}
