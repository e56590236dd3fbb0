/**
 * Launches Debian's Chromium through playwright-core for browser tests. Missing Chromium is a failure with the
 * install command, never a skip.
 */
import { existsSync } from 'node:fs';
import type { ExecutionContext, TestFn } from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { perFile } from '../helpers/per-file.ts';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does this)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** One Chromium for all tests of a file (perFile): launched before them, closed after them. */
export function fileChromium(test: TestFn): Browser {
  return perFile(test, launchChromium, (browser) => browser.close());
}

/** A Chromium of one test's own, closed at its teardown. */
export async function testChromium(t: ExecutionContext): Promise<Browser> {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  return browser;
}
