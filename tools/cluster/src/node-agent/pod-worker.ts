// One pod on this node, from sandbox to deletion: network namespace, volumes, init containers in order, native
// sidecars started and ready before the next step, containers with postStart hooks, probes, restarts with back-off,
// status reports, and graceful termination (SIGTERM, then SIGKILL when the grace period is over).
import { closeSync, openSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { KObject, Kube } from './kube.ts';
import { KubeApiError } from './kube.ts';
import { containerArgv } from './images.ts';
import { EnvError, resolveEnv } from './env.ts';
import { containerIdentity, execInContainerArgv, launcherScript, nonRootViolation, spawnInPod, type Identity, type Mount } from './container.ts';
import { PodVolumes, VolumeError } from './volumes.ts';
import { awaitHookPort, probeTiming, runCommandOnHost, runHandler, type ProbeTarget } from './probes.ts';
import { AddressPool, createPodNetwork, deletePodNetwork, podEtcFiles, type PodNetwork } from './network.ts';
import { Conditions, podStatus, type ContainerState, type ContainerView } from './status.ts';
import { PodEvents } from './events.ts';

export interface NodeContext {
  readonly kube: Kube;
  readonly log: Logger;
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podsDir: string;
  readonly repoRoot: string;
  readonly node: string;
  readonly addresses: AddressPool;
  readonly allocatable: { cpu: string; memory: string; 'ephemeral-storage': string };
  readonly isPodAddress: (ip: string) => boolean;
  /** Back-off after a container exits: base and cap (the kubelet's are 10 s and 5 min). */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Container {
  readonly spec: KObject;
  readonly kind: 'init' | 'sidecar' | 'regular';
  state: ContainerState = { waiting: { reason: 'PodInitializing' } };
  lastState: ContainerState | undefined;
  restartCount = 0;
  crashes = 0;
  ready = false;
  started = false;
  done = false;
  child: ChildProcess | undefined;
  /** Bumped on every start; probe loops of an older run stop themselves. */
  generation = 0;
  exited: Promise<void> = Promise.resolve();
  id: Identity | undefined;
  env: Map<string, string> = new Map();

  constructor(spec: KObject, kind: Container['kind']) {
    this.spec = spec;
    this.kind = kind;
  }

  get name(): string {
    return String(this.spec['name']);
  }

  view(podUid: string): ContainerView {
    return {
      name: this.name,
      image: String(this.spec['image'] ?? ''),
      kind: this.kind,
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      done: this.done,
      containerID: this.child ? `trellis://${podUid}/${this.name}/${this.restartCount}` : undefined,
    };
  }
}

export class PodWorker {
  readonly uid: string;
  readonly #ctx: NodeContext;
  readonly #log: Logger;
  readonly #containers: Container[];
  readonly #conditions = new Conditions();
  readonly #waiters = new Set<() => void>();
  readonly #startTime = nowIso();
  readonly #dir: string;
  #pod: KObject;
  #net: PodNetwork | undefined;
  #volumes: PodVolumes | undefined;
  #initialized = false;
  #initFailed = false;
  #terminating = false;
  #gone = false;
  #reportTimer: NodeJS.Timeout | undefined;
  /** A status PATCH is in flight: the next waits for it, so an older status never lands after a newer one. */
  #reporting = false;
  #reportAgain = false;
  #lastReport = '';
  #termination: Promise<void> | undefined;
  readonly #events: PodEvents;

  constructor(pod: KObject, ctx: NodeContext) {
    this.#pod = pod;
    this.#ctx = ctx;
    this.#events = new PodEvents(ctx.kube, pod);
    const m = pod['metadata'];
    this.uid = String(m['uid']);
    this.#log = ctx.log.child({ pod: `${m['namespace']}/${m['name']}` });
    this.#dir = join(ctx.podsDir, `${m['namespace']}_${m['name']}_${this.uid}`);
    const spec = pod['spec'] ?? {};
    this.#containers = [
      ...((spec['initContainers'] ?? []) as KObject[]).map((c) => new Container(c, c['restartPolicy'] === 'Always' ? 'sidecar' : 'init')),
      ...((spec['containers'] ?? []) as KObject[]).map((c) => new Container(c, 'regular')),
    ];
  }

  get #ns(): string {
    return String(this.#pod['metadata']['namespace']);
  }

  get #name(): string {
    return String(this.#pod['metadata']['name']);
  }

  /** A newer version of the pod object from the watch. */
  update(pod: KObject): void {
    this.#pod = pod;
    this.#volumes?.setPod(pod);
    if (pod['metadata']['deletionTimestamp'] && !this.#termination) {
      const grace = Number(pod['metadata']['deletionGracePeriodSeconds'] ?? pod['spec']?.['terminationGracePeriodSeconds'] ?? 30);
      this.#termination = this.#terminate(grace * 1000).then(() => this.#finalizeDelete());
    }
  }

  /** The pod object is gone from the API (force delete): stop everything now. */
  async forget(): Promise<void> {
    this.#gone = true;
    this.#termination ??= this.#terminate(0);
    await this.#termination;
  }

  /** Node shutdown: stop the containers (short grace), remove the sandbox, report nothing more. */
  async shutdown(graceMs: number): Promise<void> {
    this.#gone = true;
    this.#termination ??= this.#terminate(graceMs);
    await this.#termination;
  }

  #changed(): void {
    for (const w of [...this.#waiters]) w();
    if (this.#reportTimer || this.#gone) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      void this.#report();
    }, 50);
  }

  /** Resolves once `cond` holds (re-checked on every state change) or the pod starts terminating. */
  #until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (cond() || this.#terminating) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  async #report(): Promise<void> {
    if (this.#gone) return;
    if (this.#reporting) {
      this.#reportAgain = true;
      return;
    }
    this.#reporting = true;
    try {
      await this.#patchStatus();
    } finally {
      this.#reporting = false;
      if (this.#reportAgain) {
        this.#reportAgain = false;
        this.#changed();
      }
    }
  }

  async #patchStatus(): Promise<void> {
    const status = podStatus(
      {
        podIP: this.#net?.ip,
        hostIP: this.#ctx.hostIP,
        startTime: this.#startTime,
        sandboxReady: this.#net !== undefined,
        initialized: this.#initialized,
        initFailed: this.#initFailed,
        containers: this.#containers.map((c) => c.view(this.uid)),
      },
      this.#conditions,
      nowIso(),
    );
    const body = JSON.stringify(status);
    if (body === this.#lastReport) return;
    this.#lastReport = body;
    try {
      await this.#ctx.kube.call('PATCH', `/api/v1/namespaces/${this.#ns}/pods/${this.#name}/status`, { status }, 'application/strategic-merge-patch+json');
    } catch (err) {
      this.#lastReport = '';
      if (err instanceof KubeApiError && err.status === 404) return;
      this.#log.warn({ err: (err as Error).message }, 'status update failed; retrying');
      setTimeout(() => this.#changed(), 1000);
    }
  }

  /** Runs the pod until it finishes or is deleted. */
  async run(): Promise<void> {
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o755 });
      const ip = this.#ctx.addresses.allocate();
      const spec = this.#pod['spec'] ?? {};
      const hostname = String(spec['hostname'] ?? this.#name).slice(0, 63);
      this.#net = await createPodNetwork(this.uid, ip, podEtcFiles({ hostname, ip, namespace: this.#ns, subdomain: spec['subdomain'] }));
      this.#log.info({ ip, netns: this.#net.netns }, 'sandbox ready');
      this.#volumes = new PodVolumes({ pod: this.#pod, root: join(this.#dir, 'volumes'), api: this.#volumeApi(), allocatable: this.#ctx.allocatable });
      for (const c of this.#containers) c.state = { waiting: { reason: c.kind === 'regular' && this.#containers.some((x) => x.kind !== 'regular') ? 'PodInitializing' : 'ContainerCreating' } };
      this.#changed();
      await this.#prepareVolumes();
      void this.#refreshLoop();
      for (const c of this.#containers.filter((x) => x.kind !== 'regular')) {
        if (this.#terminating) return;
        if (c.kind === 'sidecar') {
          await this.#start(c);
          await this.#until(() => c.started && (c.ready || !c.spec['readinessProbe']));
        } else if (!(await this.#runToCompletion(c))) {
          this.#initFailed = true;
          this.#changed();
          await this.#stopAll(0);
          return;
        }
      }
      this.#initialized = true;
      for (const c of this.#containers) if (c.kind === 'regular') c.state = { waiting: { reason: 'ContainerCreating' } };
      this.#changed();
      for (const c of this.#containers.filter((x) => x.kind === 'regular')) {
        if (this.#terminating) return;
        await this.#start(c);
      }
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'pod setup failed');
      for (const c of this.#containers) if (!c.child) c.state = { waiting: { reason: 'CreateContainerError', message: (err as Error).message } };
      this.#changed();
    }
  }

  async #prepareVolumes(): Promise<void> {
    for (;;) {
      try {
        await this.#volumes!.refresh();
        return;
      } catch (err) {
        if (!(err instanceof VolumeError) && !(err instanceof KubeApiError)) throw err;
        for (const c of this.#containers) c.state = { waiting: { reason: 'ContainerCreating', message: `MountVolume.SetUp failed: ${err.message}` } };
        this.#changed();
        await sleep(2000);
        if (this.#terminating) return;
      }
    }
  }

  async #refreshLoop(): Promise<void> {
    while (!this.#terminating) {
      await sleep(10_000);
      if (this.#terminating) return;
      await this.#volumes?.refresh().catch((err: Error) => this.#log.warn({ err: err.message }, 'volume refresh failed'));
    }
  }

  #volumeApi() {
    const kube = this.#ctx.kube;
    return {
      configMap: (ns: string, name: string) => kube.find(`/api/v1/namespaces/${ns}/configmaps/${name}`),
      secret: (ns: string, name: string) => kube.find(`/api/v1/namespaces/${ns}/secrets/${name}`),
      token: async (pod: KObject, audience: string | undefined, expirationSeconds: number) => {
        const sa = String(pod['spec']?.['serviceAccountName'] ?? 'default');
        const res = await kube.call('POST', `/api/v1/namespaces/${pod['metadata']['namespace']}/serviceaccounts/${sa}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            ...(audience ? { audiences: [audience] } : {}),
            expirationSeconds,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod['metadata']['name'], uid: pod['metadata']['uid'] },
          },
        });
        return String(res['status']['token']);
      },
    };
  }

  /** Runs an init container until it exits 0; false when it failed and the pod's policy says not to retry. */
  async #runToCompletion(c: Container): Promise<boolean> {
    for (;;) {
      await this.#start(c);
      await c.exited;
      if (this.#terminating) return true;
      if (!c.child) continue; // it could not start (image, config): #start has already waited before this retry
      const t = 'terminated' in c.state ? c.state.terminated : undefined;
      if (t && t.exitCode === 0 && c.child) return true;
      if (this.#pod['spec']?.['restartPolicy'] === 'Never' && c.child) return false;
      await this.#backoff(c);
    }
  }

  /** Starts one run of a container. Returns once it runs and its postStart hook has completed (or it failed to start). */
  async #start(c: Container): Promise<void> {
    c.generation++;
    c.child = undefined;
    c.ready = false;
    c.started = false;
    const pod = this.#pod;
    const image = String(c.spec['image'] ?? '');
    const mapped = containerArgv(image, c.spec['command'], c.spec['args'], { repoRoot: this.#ctx.repoRoot, node: this.#ctx.node });
    if (!mapped.ok) return this.#cannotStart(c, mapped.reason, mapped.message);
    let argv: string[];
    try {
      c.id = containerIdentity(c.spec, pod);
      const violation = nonRootViolation(c.spec, pod, c.id);
      if (violation) return this.#cannotStart(c, 'CreateContainerConfigError', violation);
      const all = [...(pod['spec']['initContainers'] ?? []), ...(pod['spec']['containers'] ?? [])] as KObject[];
      const resolved = await resolveEnv(c.spec, all, mapped.argv, this.#baseEnv(), {
        pod,
        podIP: this.#net!.ip,
        hostIP: this.#ctx.hostIP,
        nodeAllocatable: this.#ctx.allocatable,
        configMap: async (name) => {
          const cm = await this.#ctx.kube.find(`/api/v1/namespaces/${this.#ns}/configmaps/${name}`);
          return cm ? ((cm['data'] ?? {}) as Record<string, string>) : undefined;
        },
        secret: async (name) => {
          const s = await this.#ctx.kube.find(`/api/v1/namespaces/${this.#ns}/secrets/${name}`);
          return s ? Object.fromEntries(Object.entries((s['data'] ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : undefined;
        },
      });
      c.env = resolved.env;
      argv = resolved.argv;
    } catch (err) {
      if (err instanceof EnvError || err instanceof KubeApiError) return this.#cannotStart(c, 'CreateContainerConfigError', err.message);
      throw err;
    }
    const mounts: Mount[] = [];
    for (const m of (c.spec['volumeMounts'] ?? []) as KObject[]) {
      const src = this.#volumes!.path(String(m['name']));
      if (!src) return this.#cannotStart(c, 'CreateContainerConfigError', `volume ${JSON.stringify(m['name'])} is not defined or not ready`);
      const source = m['subPath'] ? join(src, String(m['subPath'])) : src;
      let file = false;
      try {
        file = statSync(source).isFile();
      } catch {
        await mkdir(source, { recursive: true });
      }
      mounts.push({ source, target: String(m['mountPath']), readOnly: m['readOnly'] === true, file });
    }
    const launcher = join(this.#dir, `${c.name}.sh`);
    await writeFile(launcher, launcherScript({ hostname: String(pod['spec']['hostname'] ?? this.#name).slice(0, 63), mounts, workingDir: c.spec['workingDir'], argv, id: c.id }));
    const fd = openSync(join(this.#dir, `${c.name}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawnInPod(this.#net!.netns, launcher, c.env, fd);
    } finally {
      closeSync(fd);
    }
    const startedAt = nowIso();
    c.child = child;
    c.state = { running: { startedAt } };
    const gen = c.generation;
    c.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#onExit(c, gen, startedAt, code, signal);
        resolve();
      });
      child.once('error', (err) => {
        this.#log.error({ container: c.name, err: err.message }, 'spawn failed');
      });
    });
    this.#log.info({ container: c.name, pid: child.pid, argv }, 'container started');
    this.#events.record('Normal', 'Started', `Started container ${c.name}`, c.name);
    this.#changed();
    const hook = c.spec['lifecycle']?.['postStart'] as KObject | undefined;
    if (hook) {
      const r = await this.#runHook(c, hook);
      if (!r.ok && c.generation === gen && c.child) {
        this.#log.warn({ container: c.name, err: r.message }, 'postStart hook failed; killing the container');
        this.#kill(c, 'SIGKILL');
        await c.exited;
        return;
      }
    }
    if (c.generation !== gen || !c.child) return;
    if (!c.spec['startupProbe']) c.started = true;
    this.#changed();
    this.#startProbes(c, gen);
  }

  #cannotStart(c: Container, reason: string, message: string): Promise<void> {
    c.state = { waiting: { reason, message } };
    c.child = undefined;
    this.#log.warn({ container: c.name, reason, message }, 'container cannot start');
    this.#events.record('Warning', 'Failed', `Error: ${reason}: ${message}`, c.name);
    this.#changed();
    // Retry later: the bundle may get built, the ConfigMap created.
    c.exited = sleep(5000);
    if (c.kind !== 'init') {
      void c.exited.then(() => {
        if (!this.#terminating && !c.child) return this.#start(c);
      });
    }
    return Promise.resolve();
  }

  #baseEnv(): Map<string, string> {
    return new Map([
      ['PATH', BASE_PATH],
      ['HOSTNAME', String(this.#pod['spec']['hostname'] ?? this.#name)],
      ['HOME', '/root'],
      ['KUBERNETES_SERVICE_HOST', '10.96.0.1'],
      ['KUBERNETES_SERVICE_PORT', '443'],
      ['KUBERNETES_SERVICE_PORT_HTTPS', '443'],
      ['KUBERNETES_PORT', 'tcp://10.96.0.1:443'],
      ['KUBERNETES_PORT_443_TCP', 'tcp://10.96.0.1:443'],
      ['KUBERNETES_PORT_443_TCP_PROTO', 'tcp'],
      ['KUBERNETES_PORT_443_TCP_PORT', '443'],
      ['KUBERNETES_PORT_443_TCP_ADDR', '10.96.0.1'],
    ]);
  }

  #probeTarget(c: Container): ProbeTarget {
    return {
      podIP: this.#net!.ip,
      container: c.spec,
      isPodAddress: this.#ctx.isPodAddress,
      exec: (command, timeoutMs) => {
        const pid = c.child?.pid;
        if (!pid || !c.id) return Promise.resolve({ code: -1, output: 'container is not running' });
        return runCommandOnHost(execInContainerArgv(pid, c.id, command), Object.fromEntries(c.env), timeoutMs);
      },
    };
  }

  async #runHook(c: Container, hook: KObject): Promise<{ ok: boolean; message?: string }> {
    const wait = hook['exec'] ? awaitHookPort(hook['exec']['command'] ?? []) : undefined;
    if (wait) {
      const deadline = Date.now() + wait.timeoutMs;
      while (Date.now() < deadline && c.child && !this.#terminating) {
        const r = await runHandler({ httpGet: { path: '/ready', port: wait.port } }, this.#probeTarget(c), 1000);
        if (r.ok) return { ok: true };
        await sleep(200);
      }
      return { ok: false, message: `linkerd-await: port ${wait.port} not ready in time` };
    }
    return runHandler(hook, this.#probeTarget(c), 30_000);
  }

  #startProbes(c: Container, gen: number): void {
    const alive = () => c.generation === gen && c.child !== undefined && !this.#terminating;
    const loop = async (kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe', onResult: (ok: boolean, t: ReturnType<typeof probeTiming>, message: string) => boolean) => {
      const p = c.spec[kind] as KObject | undefined;
      if (!p) return;
      const t = probeTiming(p);
      await sleep(t.initialDelayMs);
      while (alive()) {
        if (kind !== 'startupProbe' && !c.started) {
          await this.#until(() => c.started || !alive());
          continue;
        }
        const r = await runHandler(p, this.#probeTarget(c), t.timeoutMs);
        if (!alive()) return;
        if (!onResult(r.ok, t, r.ok ? '' : r.message)) return;
        // Readiness is probed quickly until the first success so that pods become ready promptly.
        await sleep(kind === 'readinessProbe' && !c.ready ? Math.min(t.periodMs, 1000) : t.periodMs);
      }
    };
    let startupFail = 0;
    let readyOk = 0;
    let readyFail = 0;
    let liveFail = 0;
    void loop('startupProbe', (ok, t, message) => {
      if (ok) {
        c.started = true;
        this.#changed();
        return false;
      }
      this.#events.record('Warning', 'Unhealthy', `Startup probe failed: ${message}`, c.name);
      if (++startupFail >= t.failure) {
        this.#log.warn({ container: c.name, message }, 'startup probe failed; restarting');
        this.#kill(c, 'SIGKILL');
        return false;
      }
      return true;
    });
    void loop('readinessProbe', (ok, t, message) => {
      if (ok) {
        readyFail = 0;
        if (!c.ready && ++readyOk >= t.success) {
          c.ready = true;
          this.#changed();
        }
      } else {
        readyOk = 0;
        this.#events.record('Warning', 'Unhealthy', `Readiness probe failed: ${message}`, c.name);
        if (c.ready && ++readyFail >= t.failure) {
          c.ready = false;
          this.#changed();
        }
      }
      return true;
    });
    void loop('livenessProbe', (ok, t, message) => {
      if (ok) {
        liveFail = 0;
        return true;
      }
      this.#events.record('Warning', 'Unhealthy', `Liveness probe failed: ${message}`, c.name);
      if (++liveFail < t.failure) return true;
      this.#log.warn({ container: c.name, message }, 'liveness probe failed; restarting');
      void this.#stopContainer(c, Date.now() + Number(this.#pod['spec']?.['terminationGracePeriodSeconds'] ?? 30) * 1000);
      return false;
    });
    if (!c.spec['readinessProbe']) {
      void this.#until(() => c.started || !alive()).then(() => {
        if (alive()) {
          c.ready = true;
          this.#changed();
        }
      });
    }
  }

  #onExit(c: Container, gen: number, startedAt: string, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.generation !== gen) return;
    const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
    c.state = { terminated: { exitCode, ...(signal ? { signal: signalNumber(signal) } : {}), reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: nowIso() } };
    c.ready = false;
    c.started = false;
    this.#log.info({ container: c.name, exitCode, signal }, 'container exited');
    const ranMs = Date.now() - Date.parse(startedAt);
    if (ranMs > 10 * 60_000) c.crashes = 0;
    if (this.#terminating || c.kind === 'init') {
      c.done = this.#terminating || exitCode === 0;
      this.#changed();
      return;
    }
    const policy = String(this.#pod['spec']?.['restartPolicy'] ?? 'Always');
    const restart = c.kind === 'sidecar' || policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (!restart) {
      c.done = true;
      this.#changed();
      if (this.#containers.filter((x) => x.kind === 'regular').every((x) => x.done)) void this.#stopAll(2000);
      return;
    }
    this.#changed();
    void this.#backoff(c).then(() => {
      if (!this.#terminating) return this.#start(c);
    });
  }

  async #backoff(c: Container): Promise<void> {
    const delayMs = Math.min(this.#ctx.backoff.baseMs * 2 ** c.crashes, this.#ctx.backoff.maxMs);
    c.crashes++;
    c.lastState = c.state;
    c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${c.name} pod=${this.#name}_${this.#ns}(${this.uid})` } };
    this.#events.record('Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${this.#name}_${this.#ns}(${this.uid})`, c.name);
    this.#changed();
    await Promise.race([sleep(delayMs), this.#until(() => this.#terminating)]);
    if (!this.#terminating) c.restartCount++;
  }

  #kill(c: Container, signal: NodeJS.Signals): void {
    const pid = c.child?.pid;
    if (!pid || c.child?.exitCode !== null || c.child?.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  async #stopContainer(c: Container, deadline: number): Promise<void> {
    const child = c.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (!this.#gone) this.#events.record('Normal', 'Killing', `Stopping container ${c.name}`, c.name);
    this.#kill(c, 'SIGTERM');
    const left = deadline - Date.now();
    if (left > 0) await Promise.race([c.exited, sleep(left)]);
    if (child.exitCode === null && child.signalCode === null) this.#kill(c, 'SIGKILL');
    await c.exited;
  }

  /** Regular containers first, then sidecars in reverse order, all within one grace period. */
  async #stopAll(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    await Promise.all(this.#containers.filter((c) => c.kind !== 'sidecar').map((c) => this.#stopContainer(c, deadline)));
    for (const c of this.#containers.filter((x) => x.kind === 'sidecar').reverse()) await this.#stopContainer(c, Math.max(deadline, Date.now() + 2000));
  }

  async #terminate(graceMs: number): Promise<void> {
    this.#terminating = true;
    this.#changed();
    this.#log.info({ graceMs }, 'stopping pod');
    await this.#stopAll(graceMs);
    if (this.#net) {
      try {
        await deletePodNetwork(this.#net.netns);
        this.#ctx.addresses.release(this.#net.ip);
      } catch (err) {
        // The address stays taken: handing it to a new pod while the old namespace lives would clash.
        this.#log.error({ err: (err as Error).message }, 'pod network not removed');
      }
    }
    await this.#volumes?.remove();
    this.#changed();
  }

  async #finalizeDelete(): Promise<void> {
    if (this.#gone) return;
    this.#gone = true;
    try {
      await this.#ctx.kube.call('DELETE', `/api/v1/namespaces/${this.#ns}/pods/${this.#name}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) this.#log.warn({ err: (err as Error).message }, 'final delete failed');
    }
    this.#log.info('pod deleted');
  }

  /** Resolves when the pod is fully gone (deleted, or stopped for node shutdown). */
  async finished(): Promise<void> {
    await this.#until(() => this.#termination !== undefined);
    await this.#termination;
  }
}

function signalNumber(s: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 } as Record<string, number>)[s] ?? 0;
}
