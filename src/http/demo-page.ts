/**
 * Serves the demo upload page that `npm run build` makes with Vite from
 * web/: its index.html at `/` and the rest of the build under `/demo/`.
 * Asset names carry a content hash, so browsers cache them for a year. The
 * HTML is revalidated on every load, so a new build shows at once.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Router from '@koa/router'
import { send } from '@koa/send'
import type { Context } from 'koa'
import { AppError } from '../errors.js'

export const DEMO_ASSETS_PATH = '/demo/'

const HASHED_ASSET = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/

// The page talks to whatever API base its user types, so connect-src allows any http(s) origin.
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "img-src 'self' data: blob: http: https:",
    "connect-src 'self' http: https:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
}

/** Finds the built page: dist/web in the package root, from src/ (tsx) and from dist/src/ alike. */
export function findDemoPageDir(): string {
  let folder = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder)
    if (parent === folder) {
      throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}.`)
    }
    folder = parent
  }

  return join(folder, 'dist', 'web')
}

/**
 * Sends one file of the build. @koa/send resolves the path inside the
 * folder and rejects `..`, absolute paths, NUL bytes and hidden files. Each
 * such request gets a 404 in the error envelope, as a missing file does.
 */
async function sendBuiltFile(ctx: Context, folder: string, relativePath: string, cacheControl: string) {
  ctx.set('Cache-Control', cacheControl)
  let served: string | undefined
  try {
    // send throws a plain error for an empty path, which is a request for the folder itself.
    if (relativePath !== '') {
      served = await send(ctx, relativePath, { root: folder, gzip: false, brotli: false, format: false })
    }
  } catch (error) {
    const status = (error as { status?: number }).status
    if (status === undefined || status >= 500) {
      throw error
    }
  }
  if (!served) {
    ctx.remove('Cache-Control')
    throw new AppError('not_found', `No route for ${ctx.method} ${ctx.path}.`)
  }

  ctx.set(PAGE_HEADERS)
  // Sends 304 to a revalidation, as koa-conditional-get does, using the Last-Modified that send set.
  if (ctx.fresh) {
    ctx.status = 304
  }
}

/** Routes for the page: GET (and HEAD) `/` and `/demo/{*path}`. */
export function createDemoPageRouter(folder: string): Router {
  const router = new Router()

  router.get('/', async (ctx) => {
    if (!existsSync(join(folder, 'index.html'))) {
      throw new AppError('not_found', `The demo page is not built in ${folder}: run \`npm run build\`.`)
    }

    await sendBuiltFile(ctx, folder, 'index.html', 'no-cache')
  })

  router.get(`${DEMO_ASSETS_PATH}{*path}`, async (ctx) => {
    const relativePath = ctx.path.slice(DEMO_ASSETS_PATH.length)
    const cacheControl = HASHED_ASSET.test(relativePath) ? 'public, max-age=31536000, immutable' : 'no-cache'
    await sendBuiltFile(ctx, folder, relativePath, cacheControl)
  })

  return router
}
