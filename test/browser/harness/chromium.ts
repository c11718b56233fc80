/**
 * Launching Debian's Chromium through playwright-core. The suite never downloads a browser: when the binary is
 * missing, `chromiumMissing()` says why, and the specs skip with that message.
 */

import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { withTimeout } from './poll.ts'
import type { Browser } from 'playwright-core'

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` overrides it */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Flags for a quiet, headless, sandbox-free run (the CI runs as root, where Chromium's sandbox cannot start)
 * that makes no network request of its own.
 */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** A reason to skip the browser suite, or `undefined` when Chromium is there */
export function chromiumMissing (): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `SKIPPED: no Chromium at ${CHROMIUM_PATH}. Install Debian's browser (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH; the browser tests never download one.`
  }
  return undefined
}

/**
 * Skips the calling suite (from its `before` hook) with `reason`, printed so the run says why, when there is one:
 * `skipWhenMissing(this, chromiumMissing())`.
 */
export function skipWhenMissing (context: Mocha.Context, reason: string | undefined): void {
  if (reason != null) {
    // eslint-disable-next-line no-console
    console.warn(`      ${reason}`)
    context.skip()
  }
}

/** Starts a headless Chromium, failing within `timeout` ms */
export async function launchChromium (timeout = 20_000): Promise<Browser> {
  return withTimeout(`launching ${CHROMIUM_PATH}`, chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    timeout
  }), timeout + 1000)
}

let shared: Promise<Browser> | undefined

/**
 * One Chromium for every browser spec of the run (each page still gets its own context): launching costs seconds
 * on a busy machine. It is closed by the root `after` hook below, once all specs are done.
 */
export async function sharedChromium (): Promise<Browser> {
  if (shared == null) {
    shared = launchChromium()
    shared.catch(() => { shared = undefined })
  }
  return shared
}

export async function closeSharedChromium (): Promise<void> {
  const browser = shared
  shared = undefined
  if (browser != null) {
    await (await browser.catch(() => undefined))?.close()
  }
}

// a root hook: this module is loaded by the spec files, while mocha collects them
if (typeof after === 'function') {
  after(closeSharedChromium)
}
