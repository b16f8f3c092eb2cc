import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { eventually, makeAnchorAndIssuer, rotateIssuer, writeIdentityDirs } from '../../test/pki-fixtures.ts';
import { FileWatcher } from './file-watcher.ts';

describe('FileWatcher', () => {
  it('reports a kubelet-style symlink swap in a watched directory, debounced into one call', async () => {
    const { anchor, issuer } = await makeAnchorAndIssuer();
    const dirs = await writeIdentityDirs(anchor, issuer);
    let calls = 0;
    const w = new FileWatcher({ paths: [dirs.certificate, dirs.key, dirs.trustAnchors], onChange: () => calls++, debounceMs: 150, pollIntervalMs: 0 });
    try {
      await rotateIssuer(dirs, issuer);
      await eventually(() => (calls > 0 ? true : undefined), 5000, 'a change notification');
      const settled = calls;
      await new Promise((r) => setTimeout(r, 400));
      expect(calls).toBe(settled);
      expect(settled).toBe(1);
    } finally {
      w.close();
    }
  });

  it('polls when directory events are unavailable', async () => {
    let calls = 0;
    const errors: string[] = [];
    const w = new FileWatcher({ paths: ['/nonexistent-dir/crt.pem'], onChange: () => calls++, pollIntervalMs: 20, onWatchError: (dir) => errors.push(dir) });
    try {
      await eventually(() => (calls >= 2 ? true : undefined), 5000, 'two polls');
      expect(errors).toEqual(['/nonexistent-dir']);
    } finally {
      w.close();
    }
  });

  it('notices a plain in-place write too', async () => {
    const { anchor, issuer } = await makeAnchorAndIssuer();
    const dirs = await writeIdentityDirs(anchor, issuer);
    let calls = 0;
    const w = new FileWatcher({ paths: [dirs.trustAnchors], onChange: () => calls++, debounceMs: 10, pollIntervalMs: 0 });
    try {
      await writeFile(`${dirs.root}/trust-roots/other`, 'x');
      await eventually(() => (calls > 0 ? true : undefined), 5000, 'a change notification');
    } finally {
      w.close();
    }
  });
});
