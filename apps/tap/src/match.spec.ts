import { describe, expect, it } from 'vitest';
import { buildMatch } from './match.ts';
import { parseTarget, pluralOf } from './resources.ts';

describe('tap request match', () => {
  it('puts every given condition under all: destination labels for --to, method, path prefix, authority, scheme', () => {
    const m = buildMatch({ to: 'deploy/voting', method: 'post', path: '/emojivoto.v1.VotingService/', authority: 'voting-svc:8080', scheme: 'http' }, 'emojivoto');
    expect(m.match?.$case === 'all' && m.match.value.matches.map((x) => x.match)).toEqual([
      { $case: 'destinationLabel', value: { key: 'namespace', value: 'emojivoto' } },
      { $case: 'destinationLabel', value: { key: 'deployment', value: 'voting' } },
      { $case: 'http', value: { match: { $case: 'method', value: { type: { $case: 'registered', value: 1 } } } } },
      { $case: 'http', value: { match: { $case: 'path', value: { match: { $case: 'prefix', value: '/emojivoto.v1.VotingService/' } } } } },
      { $case: 'http', value: { match: { $case: 'authority', value: { match: { $case: 'exact', value: 'voting-svc:8080' } } } } },
      { $case: 'http', value: { match: { $case: 'scheme', value: { type: { $case: 'registered', value: 0 } } } } },
    ]);
    expect(buildMatch({}, 'x')).toEqual({ match: { $case: 'all', value: { matches: [] } } });
  });

  it('names the bad input', () => {
    expect(() => buildMatch({ path: 'api' }, 'x')).toThrow(/invalid path "api": must start with \//);
    expect(() => buildMatch({ to: 'svc/web' }, 'x')).toThrow(/unsupported resource type "svc"/);
    expect(() => parseTarget('deploy/web/x', 'x')).toThrow(/expected TYPE\/NAME/);
  });

  it('reads resource types as the CLI writes them', () => {
    expect([pluralOf('deploy'), pluralOf('po'), pluralOf('StatefulSets')]).toEqual(['deployments', 'pods', 'statefulsets']);
    expect(parseTarget('ns/emojivoto', 'default')).toEqual({ namespace: 'emojivoto', resource: 'namespaces', name: '' });
  });
});
