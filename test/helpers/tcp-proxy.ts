/**
 * A loopback TCP proxy for fault tests, placed between the gateway and a
 * backend (S3, Postgres) or between a client and the gateway. It can be cut
 * (open connections are reset and new ones are reset at once), restored,
 * throttled to a byte rate, and made to reset each connection after a number
 * of bytes. A tap receives every chunk, so a test can cut at a chosen moment.
 */
import { type Server, type Socket, createServer, connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export type Direction = 'up' | 'down'

/** Sees each chunk before it is forwarded: `up` goes to the target, `down` comes back. */
export type Tap = (direction: Direction, chunk: Buffer) => void

interface Connection {
  client: Socket
  target: Socket
  bytes: number
}

export class TcpProxy {
  /** Bytes forwarded in each direction since the proxy started. */
  readonly totals = { up: 0, down: 0 }
  /** Connections accepted, and connections the proxy reset. */
  readonly counts = { accepted: 0, reset: 0 }
  private readonly connections = new Set<Connection>()
  private isCut = false
  private bytesPerSecond: number | null = null
  private dropEveryBytes: number | null = null
  private taps = new Set<Tap>()

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts a proxy on 127.0.0.1 with a free port, forwarding to `targetHost:targetPort`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null
    const server = createServer((client) => proxy?.accept(client, targetHost, targetPort))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port)

    return proxy
  }

  /** Replaces the host and port of a URL with the proxy's. */
  proxiedUrl(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = '127.0.0.1'
    parsed.port = String(this.port)

    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '')
  }

  /** Resets every open connection and every new one until restore(). */
  cut() {
    this.isCut = true
    for (const connection of this.connections) {
      this.reset(connection)
    }
  }

  restore() {
    this.isCut = false
  }

  /** Limits each direction of each connection to about this many bytes per second; null lifts it. */
  throttle(bytesPerSecond: number | null) {
    this.bytesPerSecond = bytesPerSecond
  }

  /** Resets each connection once it has forwarded this many bytes (both directions); null lifts it. */
  dropEvery(bytes: number | null) {
    this.dropEveryBytes = bytes
  }

  addTap(tap: Tap): () => void {
    this.taps.add(tap)

    return () => this.taps.delete(tap)
  }

  /** Resolves once `predicate` holds for a chunk, having cut the proxy before that chunk is forwarded. */
  cutWhen(predicate: (direction: Direction, chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const remove = this.addTap((direction, chunk) => {
        if (predicate(direction, chunk)) {
          remove()
          this.cut()
          resolve()
        }
      })
    })
  }

  async close() {
    this.cut()
    await new Promise((resolve) => this.server.close(resolve))
  }

  private accept(client: Socket, targetHost: string, targetPort: number) {
    this.counts.accepted += 1
    client.on('error', () => {})
    if (this.isCut) {
      this.counts.reset += 1
      client.resetAndDestroy()

      return
    }

    const target = connect(targetPort, targetHost)
    target.on('error', () => {})
    const connection: Connection = { client, target, bytes: 0 }
    this.connections.add(connection)
    const close = () => {
      this.connections.delete(connection)
      client.destroy()
      target.destroy()
    }
    client.on('close', close)
    target.on('close', close)
    this.forward(connection, client, target, 'up')
    this.forward(connection, target, client, 'down')
  }

  private forward(connection: Connection, from: Socket, to: Socket, direction: Direction) {
    from.on('data', (chunk: Buffer) => {
      for (const tap of this.taps) {
        tap(direction, chunk)
      }
      if (this.isCut || !this.connections.has(connection)) {
        this.reset(connection)

        return
      }

      this.totals[direction] += chunk.length
      connection.bytes += chunk.length
      const isDrained = to.write(chunk)
      if (this.dropEveryBytes !== null && connection.bytes >= this.dropEveryBytes) {
        this.reset(connection)

        return
      }
      if (this.bytesPerSecond !== null || !isDrained) {
        from.pause()
        void this.resumeLater(from, to, chunk.length, isDrained)
      }
    })
    from.on('end', () => to.end())
  }

  /** Resumes a paused source once the target drained and the rate allows the next chunk. */
  private async resumeLater(from: Socket, to: Socket, chunkBytes: number, isDrained: boolean) {
    const waits: Promise<unknown>[] = []
    if (this.bytesPerSecond !== null) {
      waits.push(sleep((chunkBytes / this.bytesPerSecond) * 1000))
    }
    if (!isDrained) {
      waits.push(new Promise((resolve) => to.once('drain', resolve).once('close', resolve)))
    }
    await Promise.all(waits)
    if (!from.destroyed) {
      from.resume()
    }
  }

  private reset(connection: Connection) {
    if (!this.connections.delete(connection)) {
      return
    }
    this.counts.reset += 1
    connection.client.resetAndDestroy()
    connection.target.resetAndDestroy()
  }
}
