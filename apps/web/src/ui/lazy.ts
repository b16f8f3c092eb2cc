// A module loaded on first use: the graph and chart libraries (most of the bundle) are separate chunks, so a page's
// tables render before they are fetched and parsed.
import { useEffect, useState } from 'preact/hooks';

/** The module once loaded; loading starts when `enabled` first is true. */
export function useModule<T>(load: () => Promise<T>, enabled = true): T | undefined {
  const [mod, setMod] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    load().then(
      (m) => live && setMod(() => m),
      (err: unknown) => console.error('loading a part of the dashboard failed', err),
    );
    return () => {
      live = false;
    };
  }, [enabled]);
  return mod;
}
