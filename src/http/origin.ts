/**
 * The origin (`scheme://host`) a client used to reach the gateway, for the
 * URLs the API returns. Behind a trusted reverse proxy (TRUST_PROXY) it comes
 * from the standard `Forwarded` header, or else from `X-Forwarded-Proto` and
 * `X-Forwarded-Host`. Without TRUST_PROXY those headers are ignored, and the
 * `Host` header names the origin.
 */

/** Reads one request header by lower-case name; a missing header gives null, undefined or ''. */
export type HeaderReader = (name: string) => string | null | undefined

/** A host name, IPv4 or bracketed IPv6 address, with an optional port: nothing that could end a URL's authority. */
const SAFE_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

function isProto(value: string | undefined): value is 'http' | 'https' {
  return value === 'http' || value === 'https'
}

/** Returns the first value of a comma-separated header, which the proxy closest to the client wrote. */
function firstValue(header: string | null | undefined): string | undefined {
  const value = header?.split(',')[0]?.trim()

  return value ? value : undefined
}

/** Parses the first element of a `Forwarded` header (RFC 7239) into its `proto` and `host`. */
export function parseForwarded(header: string | null | undefined): { proto?: string; host?: string } {
  const element = firstValue(header)
  if (!element) {
    return {}
  }

  const result: { proto?: string; host?: string } = {}
  for (const pair of element.split(';')) {
    const separator = pair.indexOf('=')
    if (separator < 0) {
      continue
    }
    const name = pair.slice(0, separator).trim().toLowerCase()
    const value = pair.slice(separator + 1).trim().replace(/^"(.*)"$/, '$1')
    if (name === 'proto') {
      result.proto = value.toLowerCase()
    } else if (name === 'host') {
      result.host = value
    }
  }

  return result
}

/**
 * Returns the origin of a request. Forwarded values that are not `http` or
 * `https`, or not a plain host, are ignored, so a proxy's header cannot put a
 * path or another URL into the links the gateway returns.
 */
export function requestOrigin(read: HeaderReader, trustProxy: boolean, isEncrypted = false): string {
  let proto: string | undefined
  let host: string | undefined
  if (trustProxy) {
    const forwarded = parseForwarded(read('forwarded'))
    const forwardedProto = forwarded.proto ?? firstValue(read('x-forwarded-proto'))?.toLowerCase()
    const forwardedHost = forwarded.host ?? firstValue(read('x-forwarded-host'))
    proto = isProto(forwardedProto) ? forwardedProto : undefined
    host = forwardedHost && SAFE_HOST.test(forwardedHost) ? forwardedHost : undefined
  }

  proto ??= isEncrypted ? 'https' : 'http'
  const ownHost = read('host') ?? undefined
  // NOTE: Node rejects HTTP/1.1 requests without Host, so the fallback serves only odd Host values.
  host ??= ownHost && SAFE_HOST.test(ownHost) ? ownHost : 'localhost'

  return `${proto}://${host}`
}
