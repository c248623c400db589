/**
 * Headless Debian chromium through playwright-core, for the report tests and the bench.
 * `scripts/setup-test-env.sh` installs chromium when missing and running as root.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.BENCHALIGN_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root
    ? `${CHROMIUM} not found: run scripts/setup-test-env.sh (it installs Debian's chromium)`
    : `${CHROMIUM} not found and not root, so it cannot be installed here (apt-get install chromium)`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Session {
  context: BrowserContext;
  close: () => Promise<void>;
}

/** A persistent context in a fresh user data dir (removed on close). */
export async function launch(): Promise<Session> {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'benchalign-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export type { Browser };
