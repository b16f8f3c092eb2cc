// One prom-client Registry per process, created by main.ts and handed to every component. No code touches
// prom-client's global registry, so tests can build as many independent registries as they like.
import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry } from 'prom-client';

export function createRegistry(opts: { readonly processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
