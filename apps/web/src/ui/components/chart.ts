// A time-series chart drawn by uPlot: one x axis of timestamps, one or more lines, the values formatted for their
// unit. Resizes with its box.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';

export interface ChartLine {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

export interface ChartProps {
  readonly title: string;
  readonly timestamps: readonly number[];
  readonly lines: readonly ChartLine[];
  readonly format: (v: number | null) => string;
  /** Fixed y range (a success rate from 0 to 1); none: fit the data. */
  readonly yRange?: readonly [number, number];
  readonly testId: string;
}

const HEIGHT = 180;

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): AlignedData => [p.timestamps as number[], ...p.lines.map((l) => l.values as (number | null)[])];

  const points = p.lines.reduce((n, l) => n + l.values.filter((v) => v !== null).length, 0);
  // Sparse data (a workload that just started) has no segments to draw: dots make its few points visible.
  const sparse = points < 60;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: p.yRange ? { range: () => [p.yRange?.[0] ?? 0, p.yRange?.[1] ?? 1] } : { auto: true } },
      axes: [{ stroke: '#57606a', grid: { stroke: '#eaeef2' } }, { stroke: '#57606a', grid: { stroke: '#eaeef2' }, size: 64, values: (_u, ticks) => ticks.map((t) => p.format(t)) }],
      series: [{}, ...p.lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, spanGaps: false, points: { show: sparse, size: 5, fill: l.color }, value: (_u: uPlot, v: number | null) => p.format(v) }))],
    };
    const u = new uPlot(opts, data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [p.lines.length, sparse]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [p.timestamps, p.lines]);

  return html`<figure class="chart" data-testid=${p.testId} data-points=${points}>
    <figcaption>${p.title}${points === 0 ? html` <span class="muted">(no data in this range)</span>` : null}</figcaption>
    <div ref=${box}></div>
  </figure>`;
}
