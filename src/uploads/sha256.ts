import { createHash } from 'node:crypto'
import { createSHA256 } from 'hash-wasm'

/** A SHA-256 in progress. Only the resumable kind can save its state. */
export interface Sha256 {
  update(data: Uint8Array): void
  digestHex(): string
  /** Base64 of the internal state, or null when this kind cannot be resumed. */
  save(): string | null
}

/**
 * Benchmarking switch, not a setting: with MEDIA_GATEWAY_BENCH_SKIP_SHA256=1
 * in the environment no byte is hashed and every file records 64 zeros as its
 * SHA-256. `npm run bench` sets it on a second gateway to measure what hashing
 * costs; nothing else may.
 */
const isHashingSkipped = process.env.MEDIA_GATEWAY_BENCH_SKIP_SHA256 === '1'

const SKIPPED_SHA256: Sha256 = {
  update: () => {},
  digestHex: () => '0'.repeat(64),
  save: () => 'skipped',
}

/** Node's own SHA-256: fast, but its state cannot leave the process. */
export function createStreamingSha256(): Sha256 {
  if (isHashingSkipped) {
    return SKIPPED_SHA256
  }
  const hash = createHash('sha256')

  return {
    update: (data) => hash.update(data),
    digestHex: () => hash.digest('hex'),
    save: () => null,
  }
}

/**
 * hash-wasm's SHA-256, whose state can be saved after one request and loaded in
 * the next, on this process or another one.
 */
export async function createResumableSha256(savedState?: string): Promise<Sha256> {
  if (isHashingSkipped) {
    return SKIPPED_SHA256
  }
  const hasher = await createSHA256()
  hasher.init()
  if (savedState) {
    hasher.load(Buffer.from(savedState, 'base64'))
  }

  return {
    update: (data) => hasher.update(data),
    digestHex: () => hasher.digest('hex'),
    save: () => Buffer.from(hasher.save()).toString('base64'),
  }
}
