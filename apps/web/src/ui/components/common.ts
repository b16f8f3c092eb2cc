// Small pieces every page uses: error banners, loading lines, the success-rate cell, the freshness note.
import { html } from 'htm/preact';
import type { ApiError } from '../api.ts';
import { DOT, health, percent } from '../format.ts';

export function ErrorBanner({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return html`<div class="error" role="alert"><strong>${error.code}</strong> ${error.message}</div>`;
}

export function Loading({ what }: { what: string }) {
  return html`<p class="loading">Loading ${what}...</p>`;
}

export function SuccessRate({ rate }: { rate: number | null | undefined }) {
  return html`<span class=${`sr sr-${health(rate)}`} data-success-rate=${rate ?? ''}>${percent(rate)}</span>`;
}

export function Fresh({ at, every }: { at: number | undefined; every: string }) {
  if (!at) return null;
  return html`<span class="fresh">updated ${new Date(at).toLocaleTimeString()} ${DOT} every ${every}</span>`;
}
