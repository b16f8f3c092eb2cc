// The images Trellis ships: one per app, each built from apps/<app>/Dockerfile with the repository root as context,
// and what running it once must show.

/** What a base image needs besides Node: proxy-init drives iptables. */
export type BaseFlavor = 'node' | 'iptables';

export interface SmokeCheck {
  /** What the check proves, for the log. */
  readonly what: string;
  /** The command run inside the image (argv; no shell). */
  readonly argv: readonly string[];
  /** Text the combined output must contain. */
  readonly expect: string;
  /** Standard input, if any. */
  readonly stdin?: string;
}

export interface ImageSpec {
  readonly app: string;
  /** The user the image runs as (proxy 2102, controllers 2103, the rest nobody). */
  readonly uid: number;
  readonly base: BaseFlavor;
  readonly smoke: readonly SmokeCheck[];
  /** The image's ENTRYPOINT, when it is not `node /app/main.js`. */
  readonly entrypoint?: readonly string[];
  /** The command that prints the version, when it is not `node /app/main.js --version`. */
  readonly versionArgv?: readonly string[];
}

const MAIN = ['node', '/app/main.js'];

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: emojivoto}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: web:1, ports: [{containerPort: 8080}]}
`;

export const IMAGES: readonly ImageSpec[] = [
  {
    app: 'identity',
    uid: 2103,
    base: 'node',
    smoke: [{ what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--identity-trust-domain' }],
  },
  {
    app: 'destination',
    uid: 2103,
    base: 'node',
    smoke: [{ what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--policy-addr' }],
  },
  {
    app: 'proxy-injector',
    uid: 2103,
    base: 'node',
    smoke: [{ what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--values-file' }],
  },
  {
    app: 'metrics-api',
    uid: 2103,
    base: 'node',
    smoke: [{ what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--prometheus-url' }],
  },
  {
    app: 'tap',
    uid: 2103,
    base: 'node',
    smoke: [{ what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--tap-port' }],
  },
  {
    app: 'web',
    uid: 2103,
    base: 'node',
    smoke: [
      { what: 'lists its flags', argv: [...MAIN, '--help'], expect: '--metrics-api-url' },
      { what: 'carries the built front end', argv: ['node', '-e', "const fs = require('node:fs'); console.log(['index.html', 'app.js', 'app.css'].every((f) => fs.existsSync('/app/assets/' + f)) ? 'front end present' : 'front end missing')"], expect: 'front end present' },
    ],
  },
  {
    app: 'proxy',
    uid: 2102,
    base: 'node',
    smoke: [
      { what: 'loads the SO_ORIGINAL_DST addon', argv: ['node', '-e', 'const a = require(process.env.TRELLIS_NET_ADDON); console.log(typeof a.originalDst4)'], expect: 'function' },
      { what: 'carries linkerd-await for non-native sidecars', argv: ['/usr/lib/linkerd/linkerd-await', '--help'], expect: 'linkerd-await' },
      { what: 'carries the network validator for CNI mode', argv: ['/usr/lib/linkerd/linkerd2-network-validator', '--help'], expect: 'linkerd2-network-validator' },
    ],
  },
  {
    app: 'proxy-init',
    uid: 65534,
    base: 'iptables',
    smoke: [
      {
        what: 'prints the nat rules it would write',
        argv: [...MAIN, '--simulate', '--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', '2102', '--ipv6=false'],
        expect: 'proxy-init/redirect-all-outgoing-to-proxy-port',
      },
      { what: 'has iptables-nft', argv: ['iptables-nft', '--version'], expect: 'nf_tables' },
      { what: 'has iptables-legacy', argv: ['iptables-legacy', '--version'], expect: 'legacy' },
    ],
  },
  {
    app: 'cni-plugin',
    uid: 0,
    base: 'node',
    // One single executable with Node inside: the plugin the runtime execs, and (`install`) the DaemonSet's installer.
    entrypoint: ['/opt/cni/bin/trellis-cni', 'install'],
    versionArgv: ['/opt/cni/bin/trellis-cni', '--version'],
    smoke: [{ what: 'answers a CNI VERSION call', argv: ['env', 'CNI_COMMAND=VERSION', '/opt/cni/bin/trellis-cni'], stdin: '{"cniVersion":"1.0.0"}', expect: '"supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]' }],
  },
  {
    app: 'cli',
    uid: 65534,
    base: 'node',
    smoke: [{ what: 'injects a Deployment read from stdin', argv: [...MAIN, 'inject', '--manual', '--ignore-cluster', '-'], stdin: DEPLOYMENT, expect: 'linkerd-proxy' }],
  },
];

export function imageSpec(app: string): ImageSpec {
  const spec = IMAGES.find((i) => i.app === app);
  if (!spec) throw new Error(`no image for app ${app}`);
  return spec;
}
