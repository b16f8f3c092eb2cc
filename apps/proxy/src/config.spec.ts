import { describe, expect, it } from 'vitest';
import { ConfigError } from '@trellis/config';
import { parseListenAddr, parseProxyConfig, parseProxyDuration, portIn } from './config.ts';
import { createMeshPki } from '../test/mesh-pki.ts';

const plain = { TRELLIS_PROXY_PLAINTEXT: 'true' };

describe('parseProxyConfig', () => {
  it('uses the proxy defaults when nothing is set', () => {
    const c = parseProxyConfig(plain);
    expect(c.outboundListenAddrs).toEqual([{ host: '127.0.0.1', port: 4140 }]);
    expect(c.inboundListenAddr).toEqual({ host: '0.0.0.0', port: 4143 });
    expect(c.adminListenAddr).toEqual({ host: '127.0.0.1', port: 4191 });
    expect(c.inbound.detectTimeoutMs).toBe(10_000);
    expect(c.inbound.connectTimeoutMs).toBe(300);
    expect(c.outbound.connectTimeoutMs).toBe(1000);
    expect(c.inbound.opaquePorts).toEqual([]);
    expect(portIn(c.outbound.opaquePorts, 3306)).toBe(true);
    expect(c.shutdownGracePeriodMs).toBe(120_000);
    expect(c.metricsRetainIdleMs).toBe(600_000);
    expect(c.inboundIps).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.inbound)).toBe(true);
  });

  it('runs one data-path thread whatever LINKERD2_PROXY_CORES says, unless worker threads are enabled', () => {
    expect(parseProxyConfig(plain).cores).toBe(1);
    expect(parseProxyConfig({ ...plain, LINKERD2_PROXY_CORES: '2' }).cores).toBe(1);
    expect(parseProxyConfig({ ...plain, LINKERD2_PROXY_CORES: '2', TRELLIS_PROXY_WORKER_THREADS: 'true' }).cores).toBe(2);
    expect(() => parseProxyConfig({ ...plain, LINKERD2_PROXY_CORES: '0', TRELLIS_PROXY_WORKER_THREADS: 'true' })).toThrow(/LINKERD2_PROXY_CORES/);
  });

  it('reads the injected values', () => {
    const c = parseProxyConfig({
      ...plain,
      LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS: '127.0.0.1:4140,[::1]:4140',
      LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '[::]:4143',
      LINKERD2_PROXY_INBOUND_IPS: '10.0.0.5,fd00::5',
      LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION: '25,3306,8000-8010',
      LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT: '100ms',
      LINKERD2_PROXY_OUTBOUND_DETECT_TIMEOUT: '365d',
      LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED: 'true',
      LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL: '10s',
      LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT: '3s',
      LINKERD2_PROXY_DESTINATION_CONTEXT: '{"ns":"emojivoto", "nodeName":"n1", "pod":"web-0"}\n',
    });
    expect(c.outboundListenAddrs).toEqual([
      { host: '127.0.0.1', port: 4140 },
      { host: '::1', port: 4140 },
    ]);
    expect(c.inboundListenAddr.host).toBe('::');
    expect(c.inboundIps).toEqual(['10.0.0.5', 'fd00::5']);
    expect(portIn(c.inbound.opaquePorts, 8005)).toBe(true);
    expect(portIn(c.inbound.opaquePorts, 8011)).toBe(false);
    expect(c.inbound.connectTimeoutMs).toBe(100);
    expect(c.outbound.detectTimeoutMs).toBe(365 * 86_400_000);
    expect(c.shutdownEndpointEnabled).toBe(true);
    expect(c.proxyName).toBe('web-0.emojivoto');
    expect([c.inbound.h2KeepAliveIntervalMs, c.inbound.h2KeepAliveTimeoutMs, c.outbound.h2KeepAliveIntervalMs]).toEqual([10_000, 3000, 0]);
  });

  it.each([
    ['LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT', '100'],
    ['LINKERD2_PROXY_INBOUND_LISTEN_ADDR', 'localhost:4143'],
    ['LINKERD2_PROXY_INBOUND_IPS', '10.0.0.1,nope'],
    ['LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION', '70000'],
    ['LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED', 'maybe'],
    ['LINKERD2_PROXY_INBOUND_DEFAULT_POLICY', 'allow-everything'],
    ['LINKERD2_PROXY_LOG_FORMAT', 'xml'],
  ])('rejects %s=%s naming the variable and the value', (name, value) => {
    expect(() => parseProxyConfig({ ...plain, [name]: value })).toThrow(ConfigError);
    expect(() => parseProxyConfig({ ...plain, [name]: value })).toThrow(new RegExp(`${name}`));
    expect(() => parseProxyConfig({ ...plain, [name]: value })).toThrow(JSON.stringify(value));
  });

  it('names the missing identity variables when not in plaintext mode', () => {
    expect(() => parseProxyConfig({})).toThrow(/LINKERD2_PROXY_IDENTITY_DIR.*TRELLIS_PROXY_PLAINTEXT/);
  });

  const meshedEnv = async () => ({
    LINKERD2_PROXY_IDENTITY_DIR: '/var/run/linkerd/identity/end-entity',
    LINKERD2_PROXY_IDENTITY_TOKEN_FILE: '/var/run/secrets/tokens/linkerd-identity-token',
    LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: (await createMeshPki()).trustAnchorsPem,
    LINKERD2_PROXY_IDENTITY_LOCAL_NAME: 'web.default.serviceaccount.identity.linkerd.cluster.local',
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: 'linkerd-identity-headless.linkerd.svc.cluster.local.:8080',
    LINKERD2_PROXY_IDENTITY_SVC_NAME: 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
    LINKERD2_PROXY_DESTINATION_SVC_ADDR: 'linkerd-dst-headless.linkerd.svc.cluster.local.:8086',
    LINKERD2_PROXY_DESTINATION_SVC_NAME: 'linkerd-destination.linkerd.serviceaccount.identity.linkerd.cluster.local',
  });

  it('accepts the identity and destination variables the injector renders (meshed mode)', async () => {
    const cfg = parseProxyConfig(await meshedEnv());
    expect(cfg.plaintext).toBe(false);
    expect(cfg.mesh?.identity.localName).toBe('web.default.serviceaccount.identity.linkerd.cluster.local');
    expect(cfg.mesh?.discovery.svcAddr.text).toMatch(/^linkerd-dst-headless\.linkerd\.svc\.cluster\.local\.?:8086$/);
    expect(Object.isFrozen(cfg.mesh)).toBe(true);
  });

  it('refuses a bad identity, discovery or policy variable at start, naming it (parsed with the rest, not when the mesh starts)', async () => {
    const env = await meshedEnv();
    expect(() => parseProxyConfig({ ...env, LINKERD2_PROXY_IDENTITY_MIN_REFRESH: '10' })).toThrow(/LINKERD2_PROXY_IDENTITY_MIN_REFRESH/);
    expect(() => parseProxyConfig({ ...env, LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/99' })).toThrow(/LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS/);
    expect(() => parseProxyConfig({ ...env, LINKERD2_PROXY_INBOUND_PORTS: '80,x' })).toThrow(/LINKERD2_PROXY_INBOUND_PORTS/);
  });

  it('names every invalid variable of one start, not only the first, in one ConfigError', async () => {
    const errorOf = (env: Record<string, string>) => {
      try {
        parseProxyConfig(env);
      } catch (err) {
        return err as Error;
      }
      throw new Error('the configuration was accepted');
    };
    const plainErr = errorOf({ ...plain, LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT: '100', LINKERD2_PROXY_INBOUND_IPS: '10.0.0.1,nope', LINKERD2_PROXY_LOG_FORMAT: 'xml' });
    expect(plainErr).toBeInstanceOf(ConfigError);
    expect(plainErr.message.split('\n')).toEqual([
      '3 invalid settings:',
      expect.stringContaining('"10.0.0.1,nope" for LINKERD2_PROXY_INBOUND_IPS'),
      expect.stringContaining('"100" for LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT'),
      expect.stringContaining('LINKERD2_PROXY_LOG_FORMAT'),
    ]);
    const meshedErr = errorOf({ ...(await meshedEnv()), LINKERD2_PROXY_IDENTITY_MIN_REFRESH: '10', LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/99', LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT: 'soon' });
    for (const name of ['LINKERD2_PROXY_IDENTITY_MIN_REFRESH', 'LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS', 'LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT']) expect(meshedErr.message).toContain(name);
  });

  it('reads LINKERD2_PROXY_INGRESS_MODE; ingress mode turns informational headers off unless set explicitly', () => {
    expect(parseProxyConfig(plain)).toMatchObject({ ingressMode: false, outboundInformationalHeaders: true });
    expect(parseProxyConfig({ ...plain, LINKERD2_PROXY_INGRESS_MODE: 'true' })).toMatchObject({ ingressMode: true, outboundInformationalHeaders: false });
    expect(parseProxyConfig({ ...plain, LINKERD2_PROXY_INGRESS_MODE: 'true', LINKERD2_PROXY_OUTBOUND_DISABLE_INFORMATIONAL_HEADERS: 'false' }).outboundInformationalHeaders).toBe(true);
    expect(() => parseProxyConfig({ ...plain, LINKERD2_PROXY_INGRESS_MODE: 'sometimes' })).toThrow(/LINKERD2_PROXY_INGRESS_MODE/);
  });

  it('sends HTTP/1 between proxies upgraded to HTTP/2 unless TRELLIS_PROXY_MESH_HTTP1 says otherwise', () => {
    expect(parseProxyConfig(plain).meshHttp1).toBe(false);
    expect(parseProxyConfig({ ...plain, TRELLIS_PROXY_MESH_HTTP1: 'true' }).meshHttp1).toBe(true);
    expect(() => parseProxyConfig({ ...plain, TRELLIS_PROXY_MESH_HTTP1: 'h1' })).toThrow(/TRELLIS_PROXY_MESH_HTTP1/);
  });

  it('ignores the policy controller in plaintext mode (the inbound default policy applies)', () => {
    const cfg = parseProxyConfig({ ...plain, LINKERD2_PROXY_POLICY_SVC_ADDR: 'policy.example:8090' });
    expect(cfg.mesh).toBeUndefined();
    expect(cfg.policy.svcAddr).toBeUndefined();
  });

  it('accepts the --plaintext flag in place of the variable', () => {
    expect(parseProxyConfig({}, { plaintext: true }).plaintext).toBe(true);
  });
});

describe('parseProxyDuration', () => {
  it.each([
    ['0', 0],
    ['100ms', 100],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['365d', 31_536_000_000],
  ])('parses %s', (v, ms) => expect(parseProxyDuration('X', v)).toBe(ms));

  it.each(['10', '1.5s', '10 s', 's', '-1s', '1m30s'])('rejects %s', (v) => expect(() => parseProxyDuration('X', v)).toThrow(/X/));
});

describe('parseListenAddr', () => {
  it('parses IPv6 in brackets', () => expect(parseListenAddr('A', '[::1]:4140')).toEqual({ host: '::1', port: 4140 }));
  it('rejects a port out of range', () => expect(() => parseListenAddr('A', '0.0.0.0:99999')).toThrow(/A/));
});
