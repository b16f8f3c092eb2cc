// The client library's ApiException carries the API server's Status as a JSON string in `body`: its `message`
// ("deployments.apps \"nope\" not found") is what a user should read, not the library's dump of headers.
export function apiErrorMessage(err: unknown): string | undefined {
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e?.code !== 'number' || e.body === undefined) return undefined;
  try {
    const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: unknown };
    if (typeof status?.message === 'string') return `${status.message} (HTTP ${e.code})`;
  } catch {
    // not a Status object
  }
  return `the API server answered HTTP ${e.code}`;
}
