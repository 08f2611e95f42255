/**
 * A tus locker shared by every gateway instance on one Postgres. A lock is a
 * session-level advisory lock, held on a pooled connection for as long as the
 * request holds the upload. When the process or its connection dies, Postgres
 * drops the lock with the session. A request that waits for a lock sends
 * NOTIFY on one channel, and the instance holding that upload asks its
 * request to finish early, as tus's in-memory locker does within one process.
 */
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils'
import pg from 'pg'

const RELEASE_CHANNEL = 'media_gateway_lock_release'

/** Time between two release requests for the same upload while a request waits. */
const RELEASE_REQUEST_INTERVAL_MS = 1000
const RETRY_INTERVAL_MS = 50

export interface PostgresLockerOptions {
  databaseUrl: string
  /** Connections that may hold locks at once; a further request waits for one. */
  maxConnections: number
  /** Time to wait for a lock before the request fails. */
  acquireTimeoutMs: number
  onError: (error: unknown) => void
}

/** Maps an upload id to the two 32-bit keys of a Postgres advisory lock. */
function advisoryKeys(id: string): [number, number] {
  const digest = createHash('sha256').update(id).digest()

  return [digest.readInt32BE(0), digest.readInt32BE(4)]
}

export class PostgresLocker implements Locker {
  private readonly pool: pg.Pool
  private listener: pg.Client | null = null
  /** Release callbacks of the locks this process holds, by upload id. */
  readonly held = new Map<string, RequestRelease>()

  constructor(readonly options: PostgresLockerOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.maxConnections })
    this.pool.on('error', options.onError)
  }

  /** Starts listening for release requests; call before serving. */
  async start() {
    const listener = new pg.Client({ connectionString: this.options.databaseUrl })
    listener.on('error', this.options.onError)
    listener.on('notification', (message) => {
      const release = message.payload ? this.held.get(message.payload) : undefined
      if (release) {
        Promise.resolve(release()).catch(this.options.onError)
      }
    })
    await listener.connect()
    await listener.query(`LISTEN ${RELEASE_CHANNEL}`)
    this.listener = listener
  }

  newLock(id: string): Lock {
    return new PostgresLock(id, this, this.pool)
  }

  async close() {
    await this.listener?.end()
    await this.pool.end()
  }
}

class PostgresLock implements Lock {
  private client: pg.PoolClient | null = null

  constructor(
    private readonly id: string,
    private readonly locker: PostgresLocker,
    private readonly pool: pg.Pool,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const [high, low] = advisoryKeys(this.id)
    const client = await this.pool.connect()
    const deadline = Date.now() + this.locker.options.acquireTimeoutMs
    let nextReleaseRequest = 0
    try {
      for (;;) {
        const { rows } = await client.query('SELECT pg_try_advisory_lock($1, $2) AS acquired', [high, low])
        if (rows[0].acquired) {
          this.client = client
          this.locker.held.set(this.id, requestRelease)

          return
        }
        if (signal.aborted || Date.now() > deadline) {
          throw ERRORS.ERR_LOCK_TIMEOUT
        }
        if (Date.now() >= nextReleaseRequest) {
          await client.query('SELECT pg_notify($1, $2)', [RELEASE_CHANNEL, this.id])
          nextReleaseRequest = Date.now() + RELEASE_REQUEST_INTERVAL_MS
        }
        await sleep(RETRY_INTERVAL_MS)
      }
    } catch (error) {
      client.release()
      throw error
    }
  }

  async unlock(): Promise<void> {
    const client = this.client
    if (!client) {
      throw new Error(`unlock of upload ${this.id}, which this lock does not hold`)
    }

    this.client = null
    this.locker.held.delete(this.id)
    const [high, low] = advisoryKeys(this.id)
    try {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [high, low])
      client.release()
    } catch (error) {
      // A connection that cannot unlock is discarded; closing its session drops the lock.
      client.release(error as Error)
      throw error
    }
  }
}
