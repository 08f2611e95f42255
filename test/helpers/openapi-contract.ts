/**
 * Checks real responses against the OpenAPI document: the status must be
 * documented for the operation (or be a 5xx under `default`), required
 * headers must be present, and a JSON body must match the response schema.
 * It records each status it sees, so a suite can prove that every documented
 * status of every operation happens.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS; its default export arrives wrapped under Node's ESM loader.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020

type Json = Record<string, any>

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const

/** Escapes one JSON Pointer token and makes it safe inside a URI fragment. */
function pointerToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'))
}

export interface ContractFailure {
  operation: string
  status: number
  problems: string[]
}

export class OpenApiContract {
  private readonly ajv: Ajv2020
  private readonly validators = new Map<string, ValidateFunction>()
  private readonly routes: { template: string; pattern: RegExp }[]
  /** Statuses seen per operation, as `METHOD template`. */
  readonly observed = new Map<string, Set<string>>()

  constructor(readonly document: Json) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true })
    addFormats(this.ajv)
    this.ajv.addSchema(document, 'openapi')
    // Templates without parameters first, so /media/uploads never matches /media/{id}.
    this.routes = Object.keys(document.paths)
      .sort((a, b) => a.split('{').length - b.split('{').length || b.length - a.length)
      .map((template) => {
        const source = template
          .split(/(\{[^}]+\})/)
          .map((part) => {
            // Object keys and file paths span several segments.
            if (part === '{key}' || part === '{path}') {
              return '.+'
            }

            return part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
          })
          .join('')

        return { template, pattern: new RegExp(`^${source}$`) }
      })
  }

  /** Finds the path template a request path belongs to, or undefined. */
  templateOf(path: string): string | undefined {
    return this.routes.find((route) => route.pattern.test(path))?.template
  }

  /** Lists the documented statuses of every operation, keyed by `METHOD template`. */
  documentedStatuses(): Map<string, string[]> {
    const result = new Map<string, string[]>()
    for (const [template, item] of Object.entries<Json>(this.document.paths)) {
      for (const method of METHODS) {
        const operation = item[method]
        if (operation) {
          const statuses = Object.keys(operation.responses).filter((status) => status !== 'default')
          result.set(`${method.toUpperCase()} ${template}`, statuses)
        }
      }
    }

    return result
  }

  /** Documented statuses that no checked response has had yet. */
  unobserved(): string[] {
    const missing: string[] = []
    for (const [operation, statuses] of this.documentedStatuses()) {
      for (const status of statuses) {
        if (!this.observed.get(operation)?.has(status)) {
          missing.push(`${operation} ${status}`)
        }
      }
    }

    return missing
  }

  private resolve(object: Json): Json {
    let current = object
    while (current && typeof current.$ref === 'string') {
      const path = current.$ref.replace(/^#\//, '').split('/')
      current = path.reduce((node: Json, token: string) => node[token.replace(/~1/g, '/').replace(/~0/g, '~')], this.document)
    }

    return current
  }

  private validatorFor(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer)
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi#${pointer}` })
      this.validators.set(pointer, validate)
    }

    return validate
  }

  /**
   * Checks one response and records its status. Returns the problems found;
   * an empty list means the response matches the document.
   */
  check(method: string, path: string, status: number, headers: Headers, bodyText: string): string[] {
    const template = this.templateOf(path)
    if (!template) {
      return [`no path in the document matches ${path}`]
    }
    const operation = this.document.paths[template][method.toLowerCase()]
    if (!operation) {
      return [`${method} ${template} is not documented`]
    }

    const name = `${method.toUpperCase()} ${template}`
    const key = String(status)
    let responseKey = key
    if (!(key in operation.responses)) {
      if (status < 500 || !operation.responses.default) {
        return [`status ${status} is not documented for ${name}`]
      }
      responseKey = 'default'
    }
    if (!this.observed.has(name)) {
      this.observed.set(name, new Set())
    }
    this.observed.get(name)?.add(responseKey)

    const problems: string[] = []
    const documented = this.resolve(operation.responses[responseKey])
    for (const [headerName, definition] of Object.entries<Json>(documented.headers ?? {})) {
      if (this.resolve(definition).required === true || definition.required === true) {
        if (!headers.has(headerName)) {
          problems.push(`required header ${headerName} is missing`)
        }
      }
    }

    const content: Json | undefined = documented.content
    if (!content || method.toUpperCase() === 'HEAD') {
      if (bodyText !== '') {
        problems.push(`a body was sent where none is documented: ${bodyText.slice(0, 200)}`)
      }

      return problems
    }

    const mediaType = (headers.get('content-type') ?? '').split(';')[0].trim()
    const documentedType = Object.keys(content).find((candidate) => candidate === mediaType || candidate === '*/*')
    if (!documentedType) {
      problems.push(`content type "${mediaType}" is not documented (${Object.keys(content).join(', ')})`)

      return problems
    }
    if (documentedType !== 'application/json') {
      return problems
    }

    let body: unknown
    try {
      body = JSON.parse(bodyText)
    } catch {
      return [...problems, `the body is not JSON: ${bodyText.slice(0, 200)}`]
    }
    const pointer = this.schemaPointer(template, method, responseKey, operation.responses[responseKey])
    const validate = this.validatorFor(pointer)
    if (!validate(body)) {
      for (const error of validate.errors ?? []) {
        problems.push(`body${error.instancePath} ${error.message} (${error.schemaPath})`)
      }
    }

    return problems
  }

  /** Returns the JSON Pointer to a response's JSON schema, following a $ref to components.responses. */
  private schemaPointer(template: string, method: string, responseKey: string, response: Json): string {
    const base =
      typeof response.$ref === 'string'
        ? response.$ref.replace(/^#/, '')
        : `/paths/${pointerToken(template)}/${method.toLowerCase()}/responses/${responseKey}`

    return `${base}/content/${pointerToken('application/json')}/schema`
  }
}

/**
 * Fetches like `fetch` and checks each response against the contract. It
 * throws on a mismatch, so a test fails at the request that broke it, and
 * returns the response with its body already read as text.
 */
export function contractFetch(contract: OpenApiContract) {
  return async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, init)
    const text = await response.text()
    const method = init.method ?? 'GET'
    const problems = contract.check(method, new URL(url).pathname, response.status, response.headers, text)
    if (problems.length > 0) {
      throw new Error(`${method} ${url} answered ${response.status}, which breaks the OpenAPI document:\n  ${problems.join('\n  ')}`)
    }

    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) }
  }
}
