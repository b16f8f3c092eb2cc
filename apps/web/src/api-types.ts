// The shapes the dashboard's API answers with, shared by the server and the front end (types only).

export interface ResourceRef {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
}

export interface StatRow {
  readonly resource: ResourceRef;
  readonly pods?: { readonly running: number; readonly meshed: number; readonly failed: number };
  readonly stats: {
    readonly successCount: number;
    readonly failureCount: number;
    readonly successRate: number | null;
    readonly rps: number;
    readonly securedRate: number | null;
    readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  } | null;
  readonly tcp: { readonly openConnections: number; readonly readBytes: number; readonly writeBytes: number } | null;
}

export interface StatAnswer {
  readonly window: string;
  readonly rows: readonly StatRow[];
}

export interface Edge {
  readonly src: ResourceRef;
  readonly dst: ResourceRef;
  readonly clientId: string;
  readonly serverId: string;
  readonly secured: boolean;
  readonly noTlsReason: string;
  readonly openConnections: number;
}

export interface EdgesAnswer {
  readonly edges: readonly Edge[];
}

/** A route of the metrics API's /api/v1/routes answer: `[DEFAULT]` counts the requests that matched no route. */
export interface RouteRow {
  readonly route: string;
  readonly kind: string;
  readonly parent: { readonly kind: 'Service' | 'Server'; readonly namespace: string; readonly name: string };
  readonly authority: string;
  readonly stats: {
    readonly successCount: number;
    readonly failureCount: number;
    readonly successRate: number | null;
    readonly rps: number;
    readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  } | null;
  readonly actual: { readonly successRate: number | null; readonly rps: number } | null;
}

export interface RoutesAnswer {
  readonly window: string;
  readonly rows: readonly RouteRow[];
}

/**
 * One event of a live tap (`GET api/tap`, server-sent events): Linkerd's tap line, and on a request's end what top
 * aggregates of it.
 */
export type { TapLine } from '@trellis/tap-view';

export const HISTORY_SERIES = ['successRate', 'rps', 'p50', 'p95', 'p99'] as const;
export type HistorySeriesName = (typeof HISTORY_SERIES)[number];

export interface HistoryAnswer {
  readonly resource: ResourceRef;
  /** Seconds covered, ending now. */
  readonly rangeSeconds: number;
  readonly stepSeconds: number;
  /** Seconds since the epoch, every step from start to end. */
  readonly timestamps: readonly number[];
  /** One value per timestamp; null where there was nothing to measure. */
  readonly series: Readonly<Record<HistorySeriesName, readonly (number | null)[]>>;
}

export interface DashboardConfig {
  readonly grafanaUrl: string | null;
}

export interface ErrorAnswer {
  readonly error: { readonly code: string; readonly message: string };
}
