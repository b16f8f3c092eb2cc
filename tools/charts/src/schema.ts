// Derives a chart's values.schema.json from its values.yaml, so the schema can never drift from the documented
// keys: every mapping becomes a closed object (unknown keys are rejected, and helm names them), every scalar
// takes the type of its default, and the `# --` comment above a key becomes its description. Keys whose default
// cannot carry the rule (free-form maps, lists, nullable numbers, int-or-string, enums) get it from `rules`.
import { isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';

export type JsonSchema = { [k: string]: unknown };

/**
 * Per-key rules, by dotted path. A rule is merged over the inferred schema; `replace: true` drops the inferred
 * one (for free-form maps and lists whose defaults say nothing about their contents).
 */
export interface SchemaRule {
  readonly schema: JsonSchema;
  readonly replace?: boolean;
}

export interface SchemaOptions {
  readonly title: string;
  readonly rules: Readonly<Record<string, SchemaRule>>;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
}

export class SchemaRuleError extends Error {}

export function schemaFromValues(valuesYaml: string, opts: SchemaOptions): JsonSchema {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new SchemaRuleError(`values.yaml does not parse: ${doc.errors[0]?.message}`);
  if (!isMap(doc.contents)) throw new SchemaRuleError('values.yaml: the top level must be a mapping');
  const used = new Set<string>();
  const root = objectSchema(doc.contents, '', opts.rules, used);
  const unused = Object.keys(opts.rules).filter((k) => !used.has(k));
  if (unused.length > 0) throw new SchemaRuleError(`schema rules for keys values.yaml does not have: ${unused.join(', ')}`);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: opts.title,
    ...(opts.definitions ? { definitions: opts.definitions } : {}),
    ...root,
  };
}

function objectSchema(map: YAMLMap, path: string, rules: Readonly<Record<string, SchemaRule>>, used: Set<string>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [i, pair] of (map.items as Pair<Node, Node | null>[]).entries()) {
    if (!isScalar(pair.key)) throw new SchemaRuleError(`${path || 'values'}: keys must be plain scalars`);
    const key = String(pair.key.value);
    const childPath = path ? `${path}.${key}` : key;
    const rule = rules[childPath];
    if (rule) used.add(childPath);
    // A replacing rule owns the whole subtree: its default's shape says nothing (free-form maps, lists).
    let schema = rule?.replace ? { ...rule.schema } : { ...inferred(pair.value, childPath, rules, used), ...rule?.schema };
    // The yaml parser files a comment above a mapping's first key under the mapping itself.
    const description = describe(pair.key.commentBefore ?? (i === 0 ? map.commentBefore : undefined));
    if (description && schema['description'] === undefined) schema = { description, ...schema };
    properties[key] = schema;
  }
  return { type: 'object', additionalProperties: false, properties };
}

function inferred(node: Node | null, path: string, rules: Readonly<Record<string, SchemaRule>>, used: Set<string>): JsonSchema {
  if (isMap(node)) return objectSchema(node, path, rules, used);
  const rule = rules[path];
  if (isSeq(node)) {
    if (!rule) throw new SchemaRuleError(`${path}: a list needs a schema rule (what may its items be?)`);
    return { type: 'array' };
  }
  if (!isScalar(node) || node.value === null) {
    if (!rule) throw new SchemaRuleError(`${path}: a null default needs a schema rule (what may it be set to?)`);
    return {};
  }
  const v = node.value;
  if (typeof v === 'boolean') return { type: 'boolean' };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'integer' } : { type: 'number' };
  return { type: 'string' };
}

/** The text of a `# -- ...` comment (continuation lines joined); other comments are not descriptions. */
function describe(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('-- '));
  if (start === -1) return undefined;
  return lines
    .slice(start)
    .map((l, i) => (i === 0 ? l.slice(3) : l))
    .join(' ')
    .trim();
}
