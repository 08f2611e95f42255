/** The JSON error envelope every gateway error response carries. */
interface ErrorEnvelope {
  error: { code: string; message: string }
}

function isErrorEnvelope(value: unknown): value is ErrorEnvelope {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | undefined

  return typeof error?.code === 'string' && typeof error.message === 'string'
}

/**
 * Describes a failed API response for a person: the envelope's code and
 * message when the body is one, otherwise the status and the start of the
 * body. Status 0 means the browser got no readable response at all.
 */
export function describeApiError(status: number, body: string, apiBase: string): string {
  if (status === 0) {
    return (
      `No response from ${apiBase}: check the API base URL, that the gateway is running, ` +
      "and that its CORS_ALLOWED_ORIGINS allows this page's origin."
    )
  }

  let parsed: unknown = null
  try {
    parsed = JSON.parse(body)
  } catch {
    // Not JSON: a proxy's page or a gateway older than the envelope.
  }
  if (isErrorEnvelope(parsed)) {
    return `${parsed.error.code} (HTTP ${status}): ${parsed.error.message}`
  }

  const excerpt = body.trim().slice(0, 200)

  return excerpt ? `HTTP ${status}: ${excerpt}` : `HTTP ${status} with an empty body.`
}
