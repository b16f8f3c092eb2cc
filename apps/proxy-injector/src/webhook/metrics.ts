// The injector's Prometheus series, with Linkerd's names and labels: each proxy config annotation is a label
// (prefix stripped, dashes to underscores) carrying the pod's value for it.
import { CONFIG_KEYS } from '@trellis/inject';
import { Counter, type Registry } from 'prom-client';

function labelOf(key: string): string {
  return key.replace(/^config\.(alpha\.|beta\.)?linkerd\.io\//, '').replaceAll('-', '_');
}

/** Label name → the annotation keys it reads (the deprecated alpha/beta spellings share a label). */
const CONFIG_LABELS: ReadonlyMap<string, readonly string[]> = (() => {
  const m = new Map<string, string[]>();
  for (const key of CONFIG_KEYS) m.set(labelOf(key), [...(m.get(labelOf(key)) ?? []), key]);
  return m;
})();

const BASE_LABELS = ['owner_kind', 'namespace', 'annotation_at'] as const;

export interface AdmissionLabels {
  readonly ownerKind: string;
  readonly namespace: string;
  readonly annotationAt: string;
  readonly podAnnotations: Readonly<Record<string, string>>;
}

type Child = { inc(): void };

/** Children by label values: prom-client hashes (and sorts) a label object on every inc, which adds up at ~60 labels. */
class ChildCache {
  readonly #children = new Map<string, Child>();
  readonly #counter: Counter;

  constructor(counter: Counter) {
    this.#counter = counter;
  }

  inc(labels: Record<string, string>): void {
    const key = Object.values(labels).join('\u0000');
    let child = this.#children.get(key);
    if (!child) {
      if (this.#children.size >= 10_000) this.#children.clear();
      child = this.#counter.labels(labels);
      this.#children.set(key, child);
    }
    child.inc();
  }
}

export class InjectorMetrics {
  readonly #requests: ChildCache;
  readonly #responses: ChildCache;

  constructor(registry: Registry) {
    const labelNames = [...BASE_LABELS, ...CONFIG_LABELS.keys()];
    this.#requests = new ChildCache(new Counter({
      name: 'proxy_inject_admission_requests_total',
      help: 'A counter for number of admission requests to proxy injector.',
      labelNames,
      registers: [registry],
    }));
    this.#responses = new ChildCache(new Counter({
      name: 'proxy_inject_admission_responses_total',
      help: 'A counter for number of admission responses from proxy injector.',
      labelNames: [...labelNames, 'skip', 'skip_reason'],
      registers: [registry],
    }));
  }

  /** Label values in labelNames order (the child cache keys on the order). */
  #labels(l: AdmissionLabels): Record<string, string> {
    const out: Record<string, string> = { owner_kind: l.ownerKind, namespace: l.namespace, annotation_at: l.annotationAt };
    for (const [label, keys] of CONFIG_LABELS) out[label] = keys.map((k) => l.podAnnotations[k]).find((v) => v !== undefined) ?? '';
    return out;
  }

  /** Counts one admission request and its response (skipped when there are reasons). */
  record(l: AdmissionLabels, skipReasons: readonly string[]): void {
    const labels = this.#labels(l);
    this.#requests.inc(labels);
    this.#responses.inc({ ...labels, skip: String(skipReasons.length > 0), skip_reason: skipReasons.join(',') });
  }
}
