// The topology graph, drawn by Cytoscape.js: callers above callees, each edge solid when mTLS and dashed when
// plaintext, coloured by the success rate its caller saw. The same edges are listed in a table beneath for reading
// (and for screen readers, which cannot read a canvas).
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import { CHECK, percent, rps } from '../format.ts';
import { href } from '../route.ts';
import { SuccessRate } from './common.ts';
import type { GraphEdge, GraphNode } from './graph-model.ts';

const COLORS = { good: '#1a7f37', warn: '#b7791f', bad: '#cf222e', none: '#8c959f' } as const;

function elements(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): ElementDefinition[] {
  return [
    ...nodes.map((n) => ({
      group: 'nodes' as const,
      data: { id: n.id, label: `${n.ref.name}\n${percent(n.successRate)}`, color: COLORS[n.health], ns: n.ref.namespace, type: n.ref.type, name: n.ref.name },
    })),
    ...edges.map((e) => ({
      group: 'edges' as const,
      data: { id: e.id, source: e.source, target: e.target, label: `${e.secured ? 'mTLS' : 'plaintext'} ${percent(e.successRate)}`, color: COLORS[e.health], line: e.secured ? 'solid' : 'dashed' },
    })),
  ];
}

const STYLE = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle', 'background-color': '#ffffff', 'border-width': 3, 'border-color': 'data(color)', label: 'data(label)',
      'text-wrap': 'wrap', 'text-valign': 'center', 'font-size': 12, 'font-family': 'system-ui, sans-serif', width: 110, height: 44, color: '#1f2328',
    },
  },
  {
    selector: 'edge',
    style: {
      'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 2.5, 'line-color': 'data(color)', 'target-arrow-color': 'data(color)', 'line-style': 'data(line)',
      label: 'data(label)', 'font-size': 10, 'text-background-color': '#ffffff', 'text-background-opacity': 1, 'text-background-padding': '2px', color: '#1f2328',
    },
  },
] as unknown as cytoscape.StylesheetJson; // Cytoscape's style typings do not accept data() mappers for every property.

export function Graph({ nodes, edges }: { nodes: readonly GraphNode[]; edges: readonly GraphEdge[] }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);
  // The layout is redone only when the set of nodes and edges changes, not on every refresh of their numbers.
  const shape = [...nodes.map((n) => n.id), '|', ...edges.map((e) => e.id)].join(',');

  useEffect(() => {
    if (!box.current) return;
    const c = cytoscape({ container: box.current, style: STYLE, elements: [], minZoom: 0.3, maxZoom: 2.5, wheelSensitivity: 0.3 });
    c.on('tap', 'node', (ev) => {
      const d = ev.target.data() as { ns: string; type: string; name: string };
      location.hash = href({ page: 'workload', namespace: d.ns, type: d.type, name: d.name });
    });
    cy.current = c;
    return () => c.destroy();
  }, []);

  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    c.elements().remove();
    c.add(elements(nodes, edges));
    c.layout({ name: 'breadthfirst', directed: true, spacingFactor: 1.1, padding: 24, animate: false }).run();
    c.fit(undefined, 24);
  }, [shape]);

  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    for (const el of elements(nodes, edges)) c.getElementById(el.data.id as string).data(el.data);
  });

  return html`<div class="graph-block">
    <div class="graph" ref=${box} data-testid="graph" data-edges=${edges.map((e) => `${e.source}>${e.target}`).join(' ')}></div>
    ${edges.length === 0
      ? html`<p class="empty">No open connections between workloads right now.</p>`
      : html`<table class="edges" data-testid="edges">
          <thead><tr><th>From</th><th>To</th><th>mTLS</th><th class="num">Success rate</th><th class="num">RPS</th></tr></thead>
          <tbody>
            ${edges.map((e) => {
              const [s, d] = [nodes.find((n) => n.id === e.source), nodes.find((n) => n.id === e.target)];
              return html`<tr data-edge=${`${s?.ref.name}>${d?.ref.name}`}>
                <td>${s ? html`<a href=${href({ page: 'workload', namespace: s.ref.namespace, type: s.ref.type, name: s.ref.name })}>${s.ref.name}</a>` : e.source}</td>
                <td>${d ? html`<a href=${href({ page: 'workload', namespace: d.ref.namespace, type: d.ref.type, name: d.ref.name })}>${d.ref.name}</a>` : e.target}</td>
                <td>${e.secured ? html`<span class="secured" title="mutual TLS">${CHECK} mTLS</span>` : html`<span class="plain" title=${e.noTlsReason}>no (${e.noTlsReason || 'plaintext'})</span>`}</td>
                <td class="num"><${SuccessRate} rate=${e.successRate} /></td>
                <td class="num">${rps(e.rps)}</td>
              </tr>`;
            })}
          </tbody>
        </table>`}
  </div>`;
}
