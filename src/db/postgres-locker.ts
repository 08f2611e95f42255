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

/** Time before the release listener reconnects after its connection was lost. */
const LISTENER_RECONNECT_MS = 1000

export class PostgresLocker implements Locker {
  private readonly pool: pg.Pool
  private listener: pg.Client | null = null
  private isClosing = false
  private reconnectTimer: NodeJS.Timeout | null = null
  /** Release callbacks of the locks this process holds, by upload id. */
  readonly held = new Map<string, RequestRelease>()

  constructor(readonly options: PostgresLockerOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.maxConnections })
    this.pool.on('error', options.onError)
  }

  /** Starts listening for release requests; call before serving. */
  async start() {
    await this.listen()
  }

  /**
   * Connects the release listener. A lost connection is reconnected every
   * LISTENER_RECONNECT_MS until it succeeds, because without it this instance
   * would never hear that another one waits for an upload it holds.
   */
  private async listen() {
    const listener = new pg.Client({ connectionString: this.options.databaseUrl })
    listener.on('error', this.options.onError)
    listener.on('end', () => {
      if (this.listener === listener) {
        this.listener = null
      }
      this.scheduleReconnect()
    })
    listener.on('notification', (message) => {
      const release = message.payload ? this.held.get(message.payload) : undefined
      if (release) {
        Promise.resolve(release()).catch(this.options.onError)
      }
    })
    try {
      await listener.connect()
      await listener.query(`LISTEN ${RELEASE_CHANNEL}`)
    } catch (error) {
      await listener.end().catch(() => {})
      throw error
    }
    this.listener = listener
  }

  private scheduleReconnect() {
    if (this.isClosing || this.reconnectTimer) {
      return
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.isClosing || this.listener) {
        return
      }
      this.listen().catch((error) => {
        this.options.onError(error)
        this.scheduleReconnect()
      })
    }, LISTENER_RECONNECT_MS)
    this.reconnectTimer.unref()
  }

  newLock(id: string): Lock {
    return new PostgresLock(id, this, this.pool)
  }

  async close() {
    this.isClosing = true
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer)
    }
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

  /**
   * Reports an error of the connection while this lock has it checked out.
   * pg's pool listens only to idle clients, so without this a connection lost
   * under a held lock would crash the process with an unhandled 'error' event.
   */
  private readonly onConnectionError = (error: Error) => this.locker.options.onError(error)

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const [high, low] = advisoryKeys(this.id)
    const client = await this.pool.connect()
    client.on('error', this.onConnectionError)
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
      client.off('error', this.onConnectionError)
      client.release(error instanceof Error ? error : undefined)
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
      client.off('error', this.onConnectionError)
      client.release()
    } catch (error) {
      // A connection that cannot unlock is discarded; closing its session drops the lock.
      client.off('error', this.onConnectionError)
      client.release(error as Error)
      throw error
    }
  }
}
