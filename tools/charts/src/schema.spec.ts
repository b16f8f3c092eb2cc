import { describe, expect, it } from 'vitest';
import { SchemaRuleError, schemaFromValues } from './schema.ts';

const values = `# Header comment, not a description.

# -- Replicas of each controller.
replicas: 1
image:
  # -- Image name.
  name: trellis/x
  # An ordinary comment.
  tag: ""
labels: {}
ratio: 0.5
enabled: true
`;

describe('schemaFromValues', () => {
  it('closes every mapping, types scalars by their defaults and takes `# --` comments as descriptions', () => {
    const s = schemaFromValues(values, { title: 't', rules: { labels: { schema: { type: 'object', additionalProperties: { type: 'string' } }, replace: true } } });
    expect(s).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 't',
      type: 'object',
      additionalProperties: false,
      properties: {
        replicas: { description: 'Replicas of each controller.', type: 'integer' },
        image: {
          type: 'object',
          additionalProperties: false,
          properties: { name: { description: 'Image name.', type: 'string' }, tag: { type: 'string' } },
        },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        ratio: { type: 'number' },
        enabled: { type: 'boolean' },
      },
    });
    expect((s['properties'] as Record<string, Record<string, unknown>>)['image']?.['properties']).not.toHaveProperty('tag.description');
  });

  it('merges a non-replacing rule over the inferred schema', () => {
    const s = schemaFromValues(values, { title: 't', rules: { replicas: { schema: { minimum: 1 } }, labels: { schema: { type: 'object' }, replace: true } } });
    expect((s['properties'] as Record<string, unknown>)['replicas']).toEqual({ description: 'Replicas of each controller.', type: 'integer', minimum: 1 });
  });

  it('demands a rule for a list or a null default, naming the key', () => {
    expect(() => schemaFromValues('hosts: []\n', { title: 't', rules: {} })).toThrow(new SchemaRuleError('hosts: a list needs a schema rule (what may its items be?)'));
    expect(() => schemaFromValues('a:\n  b: null\n', { title: 't', rules: {} })).toThrow(/a\.b: a null default needs a schema rule/);
  });

  it('refuses rules for keys values.yaml does not have', () => {
    expect(() => schemaFromValues('a: 1\n', { title: 't', rules: { b: { schema: {} } } })).toThrow(/keys values.yaml does not have: b/);
  });
});
