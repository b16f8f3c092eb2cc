// Calls back when any of a set of files changes. Kubernetes updates mounted Secrets and ConfigMaps by swapping a
// symlink in the directory, so the directories are watched (not the files), and bursts are coalesced.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export function watchFiles(paths: readonly string[], onChange: () => void, debounceMs = 100): FileWatch {
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // A directory that does not exist yet cannot be watched; the initial load reports the missing file.
    }
  }
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
