/**
 * The zod schema of one field's mapping under `sources.<name>.mapping`, and of
 * the conditions `cases` test. Only the shapes live here; which field may take
 * which option (a `format` on date fields, `by` on references, status targets)
 * is checked in source-config.ts, where the field's name is known.
 *
 * Every key accepted here takes effect: objects are strict, and an option that
 * could not apply to a field is refused rather than ignored.
 */
import { z } from 'zod';
import { isSupportedDateFormat } from './date-format.ts';

export const REFERENCE_MODES = ['id', 'email', 'name', 'display_name', 'auto'] as const;
export type ReferenceMode = (typeof REFERENCE_MODES)[number];

export const dateFormatSchema = z.string().refine(isSupportedDateFormat, {
  message: 'unsupported date format: use iso or tokens YYYY MM DD HH hh mm ss A Z (e.g. MM/DD/YYYY HH:mm)',
});

/** A value map: file value → value. `""` as a target means "no value". */
const valueMap = z.record(z.string(), z.string());
/** YAML reads `eq: 1` as a number and `eq: yes` as a string; both compare as text. */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const number = z.union([z.number(), z.string().regex(/^-?\d+(?:\.\d+)?$/, 'a number, written with a dot')]).transform(Number);

const COMPARISONS = ['eq', 'ne', 'in', 'not_in', 'lt', 'le', 'gt', 'ge', 'empty'] as const;

const comparisonSchema = z
  .object({
    column: z.string().min(1),
    eq: scalar.optional(),
    ne: scalar.optional(),
    in: z.array(scalar).min(1).optional(),
    not_in: z.array(scalar).min(1).optional(),
    lt: number.optional(),
    le: number.optional(),
    gt: number.optional(),
    ge: number.optional(),
    empty: z.boolean().optional(),
    decimal: z.enum([',', '.']).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const used = COMPARISONS.filter((op) => c[op] !== undefined);
    if (used.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a condition on ${c.column} takes exactly one of ${COMPARISONS.join(', ')} (found ${used.length === 0 ? 'none' : used.join(', ')})` });
    }
    if (c.decimal !== undefined && !used.some((op) => ['lt', 'le', 'gt', 'ge'].includes(op))) {
      ctx.addIssue({ code: 'custom', path: ['decimal'], message: 'decimal applies only to lt, le, gt and ge' });
    }
  });

export type Comparison = z.output<typeof comparisonSchema>;
export type Condition =
  | Comparison
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition };

/** A condition over the row's columns: a comparison, or all / any / not of conditions. */
export const conditionSchema: z.ZodType<Condition, unknown> = z.lazy(() =>
  z.union([
    comparisonSchema,
    z.object({ all: z.array(conditionSchema).min(1) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1) }).strict(),
    z.object({ not: conditionSchema }).strict(),
  ]),
);

const columnShape = { column: z.string().min(1), format: dateFormatSchema.optional(), map: valueMap.optional() };
const templateShape = {
  template: z.string().regex(/\{[^}]+\}/, 'a template names at least one {column}'),
  format: dateFormatSchema.optional(),
  map: valueMap.optional(),
};
const constSchema = z.object({ const: z.string() }).strict();
const by = z.enum(REFERENCE_MODES).optional();

/** One value from the row: a column, a constant or a template (the parts of `first_of` and `cases`). */
const valueSchema = z.union([z.string().min(1), z.object(columnShape).strict(), constSchema, z.object(templateShape).strict()]);

const caseSchema = z.object({ when: conditionSchema, value: valueSchema }).strict();

/** zod schema of one field's mapping; `null` drops a default field. */
export const fieldMappingSchema = z.union([
  z.string().min(1),
  z.object({ ...columnShape, by }).strict(),
  constSchema,
  z.object({ ...templateShape, by }).strict(),
  z.object({ first_of: z.array(valueSchema).min(2), map: valueMap.optional(), by }).strict(),
  z.object({ cases: z.array(caseSchema).min(1), default: valueSchema.optional(), map: valueMap.optional(), by }).strict(),
  z.object({ from_dates: z.literal(true) }).strict(),
  z.null(),
]);

export type ValueMappingInput = z.output<typeof valueSchema>;
export type FieldMappingInput = z.output<typeof fieldMappingSchema>;
