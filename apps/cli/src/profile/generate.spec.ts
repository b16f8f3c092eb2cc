import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { goldenText } from '../testing/golden.ts';
import { openApiRoutes, profileOf, protoRoutes, template } from './generate.ts';

const data = (name: string) => join(import.meta.dirname, '..', '..', 'testdata', name);
const ref = { service: 'voting-svc', namespace: 'emojivoto', clusterDomain: 'cluster.local' };

describe('trellis profile', () => {
  it('turns a .proto service into one POST route per rpc (golden)', () => {
    const routes = protoRoutes(readFileSync(data('profile/voting.proto'), 'utf8'), 'voting.proto');
    expect(routes[0]).toEqual({ name: 'VoteDoughnut', condition: { method: 'POST', pathRegex: '/emojivoto\\.v1\\.VotingService/VoteDoughnut' } });
    const text = stringify(profileOf(ref, routes));
    expect(text).toBe(goldenText(data('golden/profile-proto.yaml'), text));
  });

  it('turns Swagger paths into routes per method, under basePath, parameters matching one segment (golden)', () => {
    const routes = openApiRoutes(readFileSync(data('profile/books.swagger.yaml'), 'utf8'), 'books.swagger.yaml');
    expect(routes.map((r) => r.name)).toEqual(['GET /api/v1/books', 'POST /api/v1/books', 'GET /api/v1/books/{id}', 'DELETE /api/v1/books/{id}', 'GET /api/v1/books/{id}/cover.png']);
    expect(routes.at(-1)?.condition.pathRegex).toBe('/api/v1/books/[^/]*/cover\\.png');
    expect(new RegExp(`^${routes.at(-1)?.condition.pathRegex}$`).test('/api/v1/books/42/cover.png')).toBe(true);
    expect(new RegExp(`^${routes.at(-1)?.condition.pathRegex}$`).test('/api/v1/books/4/2/cover.png')).toBe(false);
    const text = stringify(profileOf({ ...ref, service: 'books' }, routes));
    expect(text).toBe(goldenText(data('golden/profile-openapi.yaml'), text));
  });

  it('reads OpenAPI 3 servers as the base path, and names what is wrong with a file', () => {
    const routes = openApiRoutes('openapi: 3.0.0\nservers: [{url: "https://x.example/v2"}]\npaths: {/ping: {head: {}}}\n', 'a.yaml');
    expect(routes).toEqual([{ name: 'HEAD /v2/ping', condition: { method: 'HEAD', pathRegex: '/v2/ping' } }]);
    expect(() => openApiRoutes('title: nope\n', 'a.yaml')).toThrow('--open-api a.yaml: no "paths" object: not an OpenAPI or Swagger document');
    expect(() => protoRoutes('syntax = "proto3"; message A {}', 'a.proto')).toThrow('--proto a.proto: no service with an rpc in it');
    expect(() => protoRoutes('service {', 'b.proto')).toThrow(/^--proto b\.proto: /);
  });

  it('writes a template named for the Service FQDN, its example route valid YAML', () => {
    const t = template(ref);
    expect(t).toContain('  name: voting-svc.emojivoto.svc.cluster.local\n  namespace: emojivoto\n');
    expect(t).toBe(goldenText(data('golden/profile-template.yaml'), t));
  });
});
