// Debian's Chromium (apt-get install chromium) driven by playwright-core, which downloads no browser of its own;
// screenshots go to the git-ignored .test-results/ of this app.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['TRELLIS_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '.test-results', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (tools/scripts/install-system.sh does), or set TRELLIS_CHROMIUM`);
  await mkdir(SCREENSHOTS, { recursive: true });
  // As root (CI) Chromium refuses to start with its sandbox on.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
