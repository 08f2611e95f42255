/**
 * Debian's Chromium driven by playwright-core, for the demo page's tests. No
 * browser is ever downloaded: the tests use /usr/bin/chromium (or the
 * CHROMIUM_PATH variable's) or do not run.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Folder for screenshots the browser tests save; git ignores it. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts/', import.meta.url))

/**
 * Returns why the browser tests cannot run here, or null when they can.
 * REQUIRE_BROWSER=1 turns a missing Chromium into a failure instead (CI sets it),
 * and SKIP_BROWSER_TESTS=1 skips them on purpose.
 */
export function findBrowserSkipReason(): string | null {
  if (process.env.SKIP_BROWSER_TESTS === '1') {
    return 'SKIP_BROWSER_TESTS=1 is set'
  }
  if (!existsSync(CHROMIUM_PATH) && process.env.REQUIRE_BROWSER !== '1') {
    return `${CHROMIUM_PATH} is missing (install Debian's chromium package to run them)`
  }

  return null
}

export interface LaunchedBrowser {
  context: BrowserContext
  close(): Promise<void>
}

/** Starts headless Chromium on a new, empty profile folder, which close() removes. */
export async function launchChromium(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`REQUIRE_BROWSER=1 is set but ${CHROMIUM_PATH} is missing: install Debian's chromium package.`)
  }

  const profileDir = await mkdtemp(join(tmpdir(), 'media-gateway-chromium-'))
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 960 },
  })
  // The machine running the tests may be busy; a stuck step still fails within a minute.
  context.setDefaultTimeout(60_000)

  return {
    context,
    close: async () => {
      await context.close()
      await rm(profileDir, { recursive: true, force: true })
    },
  }
}

/** Returns the path for a screenshot in the artifacts folder, creating the folder. */
export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true })

  return join(ARTIFACTS_DIR, name)
}
