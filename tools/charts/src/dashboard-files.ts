// The dashboard files as they must be on disk in the viz chart.
import { join } from 'node:path';
import { DASHBOARDS, dashboardJson } from './dashboards.ts';
import { CHARTS } from './helm.ts';

export function dashboardFiles(): { path: string; text: string }[] {
  return DASHBOARDS.map((d) => ({ path: join(CHARTS.viz, 'dashboards', `${d.uid}.json`), text: JSON.stringify(dashboardJson(d), null, 2) + '\n' }));
}
