// Chaining the plugin into the node's CNI configuration, and taking it out again. The node's primary network
// writes a .conflist (or an old single-plugin .conf); ours goes last in its `plugins`, so it runs after the pod
// has its interface and addresses and hands their result on. Pure: file text in, file text out.

export const PLUGIN_TYPE = 'trellis-cni';

export type Patch = { readonly kind: 'unchanged' } | { readonly kind: 'write'; readonly text: string } | { readonly kind: 'invalid'; readonly reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(text: string): Record<string, unknown> | string {
  try {
    const doc: unknown = JSON.parse(text);
    return isObject(doc) ? doc : 'not a JSON object';
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
}

const render = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

/** A .conf holds one plugin; as a list it keeps its name and version, and the plugin loses neither. */
function asList(doc: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(doc['plugins'])) return doc;
  const { cniVersion, name, ...plugin } = doc;
  return { cniVersion, name, plugins: [plugin] };
}

/** The file with our entry last (replacing any older one of ours), or unchanged when it is there already. */
export function addPlugin(text: string, entry: Record<string, unknown>): Patch {
  const doc = parse(text);
  if (typeof doc === 'string') return { kind: 'invalid', reason: doc };
  const list = asList(doc);
  const plugins = (list['plugins'] as unknown[]).filter((p) => !(isObject(p) && p['type'] === PLUGIN_TYPE));
  if (plugins.length === 0) return { kind: 'invalid', reason: 'it chains no primary plugin' };
  const next = render({ ...list, plugins: [...plugins, { ...entry, type: PLUGIN_TYPE }] });
  return next === render(doc) ? { kind: 'unchanged' } : { kind: 'write', text: next };
}

/** The file without our entry, or unchanged when it holds none. */
export function removePlugin(text: string): Patch {
  const doc = parse(text);
  if (typeof doc === 'string') return { kind: 'invalid', reason: doc };
  if (!Array.isArray(doc['plugins'])) return { kind: 'unchanged' };
  const plugins = doc['plugins'] as unknown[];
  const kept = plugins.filter((p) => !(isObject(p) && p['type'] === PLUGIN_TYPE));
  return kept.length === plugins.length ? { kind: 'unchanged' } : { kind: 'write', text: render({ ...doc, plugins: kept }) };
}

/** The entry from the chart's template: the kubeconfig path filled in, and it must be a JSON object. */
export function pluginEntry(template: string, kubeconfigPath: string): Record<string, unknown> {
  const doc = parse(template.replaceAll('__KUBECONFIG_FILEPATH__', kubeconfigPath));
  if (typeof doc === 'string') throw new Error(`CNI_NETWORK_CONFIG is ${doc}`);
  return doc;
}
