import { describe, expect, it } from 'vitest';
import { routeProblem } from './routes.ts';

const svc = { group: 'core', kind: 'Service', name: 'web-svc', port: 80 };
const http = (rules: unknown[], parentRefs: unknown[] = [svc]) => ({ parentRefs, rules });
const POLICY = 'policy.linkerd.io';
const GATEWAY = 'gateway.networking.k8s.io';

describe('routeProblem', () => {
  it('admits a route with matches, filters, timeouts and backends the index can read', () => {
    const spec = http([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-user', type: 'RegularExpression', value: '^a.*' }], queryParams: [{ name: 'q', value: 'v' }], method: 'GET' }],
        filters: [
          { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-a', value: 'b' }], remove: ['x-b'] } },
          { type: 'RequestRedirect', requestRedirect: { scheme: 'https', port: 443, statusCode: 301 } },
        ],
        timeouts: { request: '10s', backendRequest: '2s' },
        backendRefs: [{ name: 'web-svc', port: 80 }],
      },
    ]);
    expect(routeProblem(spec, { 'retry.linkerd.io/http': '5xx', 'timeout.linkerd.io/request': '2s' }, POLICY, 'HTTPRoute')).toBeUndefined();
    expect(routeProblem(spec, undefined, GATEWAY, 'HTTPRoute')).toBeUndefined();
  });

  it('admits a route whose parent does not exist yet (parents are not looked up)', () => {
    expect(routeProblem(http([], [{ group: 'policy.linkerd.io', kind: 'Server', name: 'not-yet' }]), undefined, POLICY, 'HTTPRoute')).toBeUndefined();
  });

  it('admits Gateway API filters Trellis does not implement, as Linkerd does, but not on a policy.linkerd.io route', () => {
    const spec = http([{ filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'x' } }, { type: 'RequestMirror', requestMirror: {} }] }]);
    expect(routeProblem(spec, undefined, GATEWAY, 'HTTPRoute')).toBeUndefined();
    expect(routeProblem(spec, undefined, POLICY, 'HTTPRoute')).toBe('spec.rules[0].filters[0]: filter type "URLRewrite" is not supported; use RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect');
  });

  it.each([
    [http([{ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }]), 'spec.rules[0].matches[0].path: "/(a" is not a valid regular expression'],
    [http([{ matches: [{ path: { type: 'Glob', value: '/*' } }] }]), 'spec.rules[0].matches[0].path: type "Glob" is not supported'],
    [http([{}, { matches: [{ headers: [{ name: 'x', type: 'RegularExpression', value: '[' }] }] }]), 'spec.rules[1].matches[0].headers[0]: "[" is not a valid regular expression'],
    [http([{ matches: [{ headers: [{ name: 'bad header', value: 'x' }] }] }]), 'spec.rules[0].matches[0].headers[0].name: "bad header" is not an HTTP header name'],
    [http([{ matches: [{ queryParams: [{ name: 'q', type: 'RegularExpression', value: '(' }] }] }]), 'spec.rules[0].matches[0].queryParams[0]: "(" is not a valid regular expression'],
    [http([{ matches: [{ method: 'GE T' }] }]), 'spec.rules[0].matches[0].method: "GE T" is not an HTTP method'],
    [http([{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x:y', value: 'v' }] } }] }]), 'spec.rules[0].filters[0].requestHeaderModifier.add[0].name: "x:y" is not an HTTP header name'],
    [http([{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x', value: 'a\r\nb' }] } }] }]), 'spec.rules[0].filters[0].responseHeaderModifier.set[0].value: the value may not contain CR, LF or NUL'],
    [http([{ filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplaceSome' } } }] }]), 'spec.rules[0].filters[0].requestRedirect.path: type "ReplaceSome" is not supported'],
    [http([{ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 200 } }] }]), 'spec.rules[0].filters[0].requestRedirect.statusCode: 200 is not a redirect status (301, 302, 303, 307 or 308)'],
    [http([{ filters: [{ type: 'RequestRedirect', requestRedirect: { port: 70000 } }] }]), 'spec.rules[0].filters[0].requestRedirect.port: 70000 is not a port (1-65535)'],
    [http([{ timeouts: { request: 'soon' } }]), 'spec.rules[0].timeouts.request: "soon" is not a duration such as 10s or 500ms'],
    [http([{ timeouts: { request: '1s', backendRequest: '5s' } }]), 'spec.rules[0].timeouts.backendRequest (5s) must not be longer than spec.rules[0].timeouts.request (1s)'],
    [http([], [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'world' }]), 'spec.parentRefs[0].port is required: a route on an EgressNetwork must name a port'],
  ])('refuses a policy.linkerd.io HTTPRoute %#: %s', (spec, message) => {
    expect(routeProblem(spec, undefined, POLICY, 'HTTPRoute')).toBe(message);
  });

  it('refuses retry and timeout annotations the index cannot read, on routes with a Service parent only', () => {
    expect(routeProblem(http([]), { 'retry.linkerd.io/http': '6xx' }, GATEWAY, 'HTTPRoute')).toBe('metadata.annotations[retry.linkerd.io/http]: "6xx" is not 5xx, gateway-error, a status code (100-599) or a range a-b');
    expect(routeProblem(http([]), { 'timeout.linkerd.io/request': 'fast' }, POLICY, 'HTTPRoute')).toMatch(/^metadata\.annotations\[timeout\.linkerd\.io\/request\]: "fast": expected an integer with a unit/);
    expect(routeProblem(http([], [{ group: 'policy.linkerd.io', kind: 'Server', name: 's' }]), { 'retry.linkerd.io/http': '6xx' }, POLICY, 'HTTPRoute')).toBeUndefined();
  });

  it('refuses a Gateway API Service backend without a port', () => {
    expect(routeProblem(http([{ backendRefs: [{ name: 'web-svc', port: 80 }, { name: 'web-svc' }] }]), undefined, GATEWAY, 'HTTPRoute')).toBe(
      'spec.rules[0].backendRefs[1].port is required: a route cannot send to a Service without naming its port',
    );
    expect(routeProblem(http([{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] }]), undefined, GATEWAY, 'HTTPRoute')).toBeUndefined();
  });

  it('checks GRPCRoute method matches and header filters, and admits the filters Linkerd admits', () => {
    expect(routeProblem(http([{ matches: [{ method: { service: 'emoji.Emoji', method: 'List' } }], filters: [{ type: 'RequestMirror', requestMirror: {} }] }]), undefined, GATEWAY, 'GRPCRoute')).toBeUndefined();
    expect(routeProblem(http([{ matches: [{ method: { type: 'Exact' } }] }]), undefined, GATEWAY, 'GRPCRoute')).toBe('spec.rules[0].matches[0].method: at least one of service and method must be a non-empty string');
    expect(routeProblem(http([{ matches: [{ headers: [{ name: 'x', type: 'RegularExpression', value: '(' }] }] }]), undefined, GATEWAY, 'GRPCRoute')).toContain('spec.rules[0].matches[0].headers[0]');
    expect(routeProblem(http([{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['a b'] } }] }]), undefined, GATEWAY, 'GRPCRoute')).toContain(
      'spec.rules[0].filters[0].responseHeaderModifier.remove[0]: "a b" is not an HTTP header name',
    );
  });
});
