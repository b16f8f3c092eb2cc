// The rules values.yaml defaults cannot express, per chart, and the generation of both values.schema.json files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHARTS } from './helm.ts';
import { schemaFromValues, type JsonSchema, type SchemaRule } from './schema.ts';

const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };
const intOrString: JsonSchema = { type: ['integer', 'string'], pattern: '^[0-9]+%?$' };
const port: JsonSchema = { minimum: 1, maximum: 65535 };
// `--set proxy.opaquePorts=3306` arrives as a number; a single port is as good as a list of one.
const portList: JsonSchema = { type: ['string', 'integer'] };
const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });

const definitions: Record<string, JsonSchema> = {
  quantityPair: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'string' }, request: { type: 'string' } },
  },
  resources: {
    description: 'Container resources: {cpu, memory, ephemeral-storage} each {limit, request}; "" leaves one unset.',
    type: 'object',
    additionalProperties: false,
    properties: {
      cpu: ref('quantityPair'),
      memory: ref('quantityPair'),
      'ephemeral-storage': ref('quantityPair'),
    },
  },
  probe: {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(
      ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'failureThreshold', 'successThreshold'].map((k) => [k, { type: 'integer', minimum: 0 }]),
    ),
  },
  labelSelector: {
    type: 'object',
    additionalProperties: false,
    properties: {
      matchLabels: stringMap,
      matchExpressions: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string' },
            operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
            values: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  },
  envList: {
    type: 'array',
    items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
  },
  image: {
    type: 'object',
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 1 }, version: { type: 'string' }, pullPolicy: { enum: ['', 'Always', 'IfNotPresent', 'Never'] } },
  },
};

const replace = (schema: JsonSchema): SchemaRule => ({ schema, replace: true });
const merge = (schema: JsonSchema): SchemaRule => ({ schema });

const webhookRules = (key: string, selectors: readonly string[]): Record<string, SchemaRule> => ({
  [`${key}.timeoutSeconds`]: merge({ minimum: 1, maximum: 30 }),
  ...Object.fromEntries(selectors.map((s) => [`${key}.${s}`, replace(ref('labelSelector'))])),
});

export const CONTROL_PLANE_RULES: Record<string, SchemaRule> = {
  imagePullPolicy: merge({ enum: ['Always', 'IfNotPresent', 'Never'] }),
  imagePullSecrets: replace({ type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } }),
  revisionHistoryLimit: merge({ minimum: 0 }),
  controllerLogLevel: merge({ enum: ['trace', 'debug', 'info', 'warn', 'error'] }),
  controllerLogFormat: merge({ enum: ['plain', 'json'] }),
  linkerdVersion: merge({ minLength: 1 }),
  'deploymentStrategy.rollingUpdate.maxUnavailable': replace(intOrString),
  'deploymentStrategy.rollingUpdate.maxSurge': replace(intOrString),
  'controller.podDisruptionBudget.maxUnavailable': replace(intOrString),
  podAnnotations: replace(stringMap),
  podLabels: replace(stringMap),
  commonLabels: replace(stringMap),
  nodeSelector: replace(stringMap),
  tolerations: replace({ type: 'array', items: { type: 'object' } }),
  nodeAffinity: replace({ type: 'object' }),
  webhookFailurePolicy: merge({ enum: ['Ignore', 'Fail'] }),
  controllerReplicas: merge({ minimum: 1 }),
  controllerUID: merge({ minimum: 1 }),
  controllerGID: merge({ minimum: -1 }),
  'identity.image': replace(ref('image')),
  'identity.issuer.scheme': merge({ enum: ['linkerd.io/tls', 'kubernetes.io/tls'] }),
  'identity.podAnnotations': replace(stringMap),
  identityResources: replace(ref('resources')),
  identityProxyResources: replace(ref('resources')),
  'destinationController.image': replace(ref('image')),
  'destinationController.meshedHttp2ClientProtobuf': replace({ type: 'object' }),
  'destinationController.podAnnotations': replace(stringMap),
  'destinationController.livenessProbe': replace(ref('probe')),
  'destinationController.readinessProbe': replace(ref('probe')),
  destinationResources: replace(ref('resources')),
  destinationProxyResources: replace(ref('resources')),
  'policyController.probeNetworks': replace({ type: 'array', items: { type: 'string', minLength: 1 } }),
  'proxyInjector.image': replace(ref('image')),
  'proxyInjector.podAnnotations': replace(stringMap),
  ...webhookRules('proxyInjector', ['namespaceSelector', 'objectSelector']),
  proxyInjectorResources: replace(ref('resources')),
  proxyInjectorProxyResources: replace(ref('resources')),
  ...webhookRules('profileValidator', ['namespaceSelector']),
  ...webhookRules('policyValidator', ['namespaceSelector']),
  'proxy.image': replace(ref('image')),
  'proxy.logFormat': merge({ enum: ['plain', 'json'] }),
  'proxy.logHTTPHeaders': merge({ enum: ['off', 'insecure'] }),
  'proxy.accessLog': merge({ enum: ['', 'apache', 'json'] }),
  'proxy.ports.admin': merge(port),
  'proxy.ports.control': merge(port),
  'proxy.ports.inbound': merge(port),
  'proxy.ports.outbound': merge(port),
  'proxy.opaquePorts': merge(portList),
  'proxy.requireIdentityOnInboundPorts': merge(portList),
  'proxy.requireTLSOnInboundPorts': merge(portList),
  'proxy.podInboundPorts': merge(portList),
  'proxyInit.ignoreInboundPorts': merge(portList),
  'proxyInit.ignoreOutboundPorts': merge(portList),
  'proxyInit.kubeAPIServerPorts': merge(portList),
  'proxy.cores': replace({ type: ['integer', 'null'], minimum: 1 }),
  'proxy.runtime.workers.minimum': merge({ minimum: 1 }),
  'proxy.runtime.workers.maximum': replace({ type: ['integer', 'null'], minimum: 1 }),
  'proxy.runtime.workers.maximumCPURatio': replace({ type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 }),
  'proxy.resources': replace(ref('resources')),
  'proxy.uid': merge({ minimum: 1 }),
  'proxy.gid': merge({ minimum: -1 }),
  'proxy.waitBeforeExitSeconds': merge({ minimum: 0 }),
  'proxy.defaultInboundPolicy': merge({
    enum: ['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'],
  }),
  'proxy.outboundTransportMode': merge({ enum: ['transport-header', 'transparent'] }),
  'proxy.livenessProbe': replace(ref('probe')),
  'proxy.readinessProbe': replace(ref('probe')),
  'proxy.startupProbe': replace(ref('probe')),
  'proxy.additionalEnv': replace(ref('envList')),
  'proxy.experimentalEnv': replace(ref('envList')),
  'proxyInit.image': replace(ref('image')),
  'proxyInit.iptablesMode': merge({ enum: ['nft', 'legacy'] }),
  'proxyInit.closeWaitTimeoutSecs': merge({ minimum: 0 }),
  'debugContainer.image': replace(ref('image')),
};

export const CRDS_RULES: Record<string, SchemaRule> = {
  enableHttpRoutes: replace({ type: ['boolean', 'null'] }),
  commonLabels: replace(stringMap),
};

const vizResources: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { cpu: ref('quantityPair'), memory: ref('quantityPair') },
};
const promDuration: JsonSchema = { pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' };

export const VIZ_RULES: Record<string, SchemaRule> = {
  defaultImagePullPolicy: merge({ enum: ['Always', 'IfNotPresent', 'Never'] }),
  imagePullSecrets: replace({ type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } }),
  defaultLogLevel: merge({ enum: ['trace', 'debug', 'info', 'warn', 'error'] }),
  defaultLogFormat: merge({ enum: ['plain', 'json'] }),
  linkerdVersion: merge({ minLength: 1 }),
  linkerdNamespace: merge({ minLength: 1 }),
  revisionHistoryLimit: merge({ minimum: 0 }),
  podAnnotations: replace(stringMap),
  podLabels: replace(stringMap),
  commonLabels: replace(stringMap),
  nodeSelector: replace(stringMap),
  tolerations: replace({ type: 'array', items: { type: 'object' } }),
  prometheusUrl: merge({ pattern: '^(https?://.+)?$' }),
  'metricsAPI.replicas': merge({ minimum: 1 }),
  'metricsAPI.image': replace(ref('image')),
  'metricsAPI.logLevel': merge({ enum: ['', 'trace', 'debug', 'info', 'warn', 'error'] }),
  'metricsAPI.logFormat': merge({ enum: ['', 'plain', 'json'] }),
  'metricsAPI.prometheusTimeout': merge(promDuration),
  'metricsAPI.resources': replace(vizResources),
  'metricsAPI.allowedServiceAccounts': replace({ type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }),
  'metricsAPI.allowedNetworks': replace({ type: 'array', items: { type: 'string', minLength: 1 } }),
  'metricsAPI.podAnnotations': replace(stringMap),
  'prometheus.image': replace(ref('image')),
  'prometheus.logLevel': merge({ enum: ['', 'debug', 'info', 'warn', 'error'] }),
  'prometheus.logFormat': merge({ enum: ['', 'plain', 'json'] }),
  'prometheus.scrapeInterval': merge(promDuration),
  'prometheus.scrapeTimeout': merge(promDuration),
  'prometheus.retention': merge(promDuration),
  'prometheus.retentionSize': merge({ pattern: '^([0-9]+(B|KB|MB|GB|TB|PB|EB))?$' }),
  'prometheus.args': replace(stringMap),
  'prometheus.scrapeConfigs': replace({ type: 'array', items: { type: 'object', required: ['job_name'] } }),
  'prometheus.metricRelabelConfigs': replace({ type: 'array', items: { type: 'object' } }),
  'prometheus.resources': replace(vizResources),
  'prometheus.podAnnotations': replace(stringMap),
  'dashboard.replicas': merge({ minimum: 1 }),
  'dashboard.image': replace(ref('image')),
  'dashboard.logLevel': merge({ enum: ['', 'trace', 'debug', 'info', 'warn', 'error'] }),
  'dashboard.logFormat': merge({ enum: ['', 'plain', 'json'] }),
  'dashboard.resources': replace(vizResources),
  'dashboard.allowedNetworks': replace({ type: 'array', items: { type: 'string', minLength: 1 } }),
  'tap.allowedNetworks': replace({ type: 'array', items: { type: 'string', minLength: 1 } }),
  'dashboard.podAnnotations': replace(stringMap),
  'tapInjector.failurePolicy': merge({ enum: ['Ignore', 'Fail'] }),
  ...webhookRules('tapInjector', ['namespaceSelector', 'objectSelector']),
  'grafana.externalUrl': merge({ pattern: '^(https?://.+)?$' }),
  'podMonitor.labels': replace(stringMap),
  'podMonitor.scrapeInterval': merge(promDuration),
  'podMonitor.scrapeTimeout': merge(promDuration),
};

export const CNI_RULES: Record<string, SchemaRule> = {
  inboundProxyPort: merge(port),
  outboundProxyPort: merge(port),
  proxyAdminPort: merge(port),
  proxyControlPort: merge(port),
  ignoreInboundPorts: merge(portList),
  ignoreOutboundPorts: merge(portList),
  portsToRedirect: merge(portList),
  proxyUID: merge({ minimum: 1 }),
  proxyGID: merge({ minimum: -1 }),
  logLevel: merge({ enum: ['debug', 'info', 'warn', 'error'] }),
  iptablesMode: merge({ enum: ['nft', 'legacy', 'plain'] }),
  destCNINetDir: merge({ pattern: '^/' }),
  destCNIBinDir: merge({ pattern: '^/' }),
  revisionHistoryLimit: merge({ minimum: 0 }),
  updateStrategy: replace({ type: 'object' }),
  podLabels: replace(stringMap),
  commonLabels: replace(stringMap),
  tolerations: replace({ type: 'array', items: { type: 'object' } }),
  image: replace(ref('image')),
  imagePullSecrets: replace({ type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } }),
  extraInitContainers: replace({ type: 'array', items: { type: 'object', required: ['name'] } }),
  resources: replace(ref('resources')),
};

export interface GeneratedSchema {
  readonly path: string;
  readonly text: string;
}

/** The values.schema.json of every chart, as they must be on disk. */
export function generateSchemas(): GeneratedSchema[] {
  const out: GeneratedSchema[] = [];
  for (const [chart, title, rules, defs] of [
    [CHARTS.controlPlane, 'Values of the trellis-control-plane chart', CONTROL_PLANE_RULES, definitions],
    [CHARTS.crds, 'Values of the trellis-crds chart', CRDS_RULES, undefined],
    [
      CHARTS.viz,
      'Values of the trellis-viz chart',
      VIZ_RULES,
      { quantityPair: definitions['quantityPair'] as JsonSchema, image: definitions['image'] as JsonSchema, labelSelector: definitions['labelSelector'] as JsonSchema },
    ],
    [
      CHARTS.cni,
      'Values of the trellis-cni chart',
      CNI_RULES,
      { quantityPair: definitions['quantityPair'] as JsonSchema, resources: definitions['resources'] as JsonSchema, image: definitions['image'] as JsonSchema },
    ],
  ] as const) {
    const values = readFileSync(join(chart, 'values.yaml'), 'utf8');
    const schema = schemaFromValues(values, { title, rules, ...(defs ? { definitions: defs } : {}) });
    out.push({ path: join(chart, 'values.schema.json'), text: JSON.stringify(schema, null, 2) + '\n' });
  }
  return out;
}
