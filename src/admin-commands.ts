/**
 * The `project` and `token` commands of the command line: they open the
 * configured database, change or list rows, and print plain text.
 */
import { parseArgs } from 'node:util'
import type { Config } from './config.js'
import { ProjectNotFoundError, TokenRepository } from './db/token-repo.js'
import { createGateway, openConfiguredDatabase } from './gateway.js'
import type { Logger } from './logger.js'
import { formatReport } from './reconcile.js'
import { SCOPES, isScope } from './tokens.js'
import { DEFAULT_TIER } from './uploads/tiers.js'

export class UsageError extends Error {
  override name = 'UsageError'
}

async function withTokens<T>(config: Config, work: (tokens: TokenRepository) => Promise<T>) {
  const opened = await openConfiguredDatabase(config)
  try {
    return await work(new TokenRepository(opened.database.knex))
  } finally {
    await opened.close()
  }
}

function parseScopes(value: string | undefined): string[] {
  const scopes = (value ?? '').split(',').map((scope) => scope.trim()).filter(Boolean)
  if (scopes.length === 0) {
    throw new UsageError('Missing --scopes, for example --scopes media:read,media:write.')
  }
  const unknown = scopes.filter((scope) => !isScope(scope))
  if (unknown.length > 0) {
    throw new UsageError(`Unknown scope: ${unknown.join(', ')}. Valid scopes: ${SCOPES.join(', ')}.`)
  }

  return scopes
}

function requireTier(config: Config, tier: string) {
  if (!(tier in config.tiers)) {
    throw new UsageError(`Unknown tier "${tier}". Tiers: ${Object.keys(config.tiers).join(', ')}.`)
  }
}

export async function runProjectCommand(config: Config, args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    options: { tier: { type: 'string' } },
    allowPositionals: true,
  })
  const [action, name, tierArgument] = positionals

  if (action === 'create') {
    if (!name) {
      throw new UsageError('Missing project name: project create NAME [--tier TIER].')
    }
    const tier = values.tier ?? DEFAULT_TIER
    requireTier(config, tier)
    const project = await withTokens(config, async (tokens) => {
      if (await tokens.findProject(name)) {
        throw new UsageError(`A project named "${name}" already exists.`)
      }

      return tokens.createProject(name, tier)
    })
    console.log(`${project.id}\t${project.name}\t${project.tier}`)

    return
  }
  if (action === 'list') {
    const projects = await withTokens(config, (tokens) => tokens.listProjects())
    for (const project of projects) {
      console.log(`${project.id}\t${project.name}\t${project.tier}`)
    }

    return
  }
  if (action === 'set-tier') {
    const tier = tierArgument ?? values.tier
    if (!name || !tier) {
      throw new UsageError('Usage: project set-tier NAME|ID TIER.')
    }
    requireTier(config, tier)
    const project = await withTokens(config, (tokens) => tokens.setTier(name, tier)).catch((error) => {
      throw error instanceof ProjectNotFoundError ? new UsageError(error.message) : error
    })
    console.log(`${project.id}\t${project.name}\t${project.tier}`)

    return
  }

  throw new UsageError('Unknown project command: use project create, list or set-tier.')
}

export async function runTokenCommand(config: Config, args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      project: { type: 'string' },
      scopes: { type: 'string' },
      mode: { type: 'string', default: 'live' },
    },
    allowPositionals: true,
  })
  const [action, tokenId] = positionals

  if (action === 'create') {
    if (!values.project) {
      throw new UsageError('Missing --project NAME.')
    }
    const scopes = parseScopes(values.scopes)
    const mode = values.mode
    if (mode !== 'live' && mode !== 'test') {
      throw new UsageError(`Invalid --mode "${mode}": use live or test.`)
    }
    const project = values.project
    const { created, projectRow } = await withTokens(config, async (tokens) => {
      const projectRow = await tokens.findOrCreateProject(project)

      return { projectRow, created: await tokens.createToken(projectRow.id, mode, scopes) }
    })
    console.log(`token ${created.id} for project ${projectRow.name} (${projectRow.id}), mode ${mode}, scopes ${scopes.join(',')}`)
    console.log('the token is shown once; store it now:')
    console.log(created.token)

    return
  }
  if (action === 'list') {
    const summaries = await withTokens(config, async (tokens) => {
      const project = values.project ? await tokens.findProject(values.project) : undefined
      if (values.project && !project) {
        throw new UsageError(`No project named or with id "${values.project}".`)
      }

      return tokens.listTokens(project?.id)
    })
    console.log('id\tproject\tmode\tprefix\tscopes\tcreated\tlast used\trevoked')
    for (const token of summaries) {
      const columns = [
        token.id,
        token.projectName,
        token.mode,
        `${token.prefix}…`,
        token.scopes.join(','),
        token.createdAt.toISOString(),
        token.lastUsedAt?.toISOString() ?? '-',
        token.revokedAt?.toISOString() ?? '-',
      ]
      console.log(columns.join('\t'))
    }

    return
  }
  if (action === 'revoke') {
    if (!tokenId) {
      throw new UsageError('Missing token id: token revoke TOKEN_ID (see token list).')
    }
    const isRevoked = await withTokens(config, (tokens) => tokens.revokeToken(tokenId))
    if (!isRevoked) {
      throw new UsageError(`No active token with id "${tokenId}".`)
    }
    console.log(`revoked ${tokenId}`)

    return
  }

  throw new UsageError('Unknown token command: use token create, list or revoke.')
}

/**
 * `reconcile [--fix] [--json] [--project NAME|ID] [--min-age-ms N]`: prints
 * the leftovers of storage and the database, and repairs them with --fix.
 */
export async function runReconcileCommand(config: Config, logger: Logger, args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      fix: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      project: { type: 'string' },
      'min-age-ms': { type: 'string' },
    },
  })
  const minAgeText = values['min-age-ms']
  if (minAgeText !== undefined && !/^\d+$/.test(minAgeText)) {
    throw new UsageError(`Invalid --min-age-ms "${minAgeText}": use a whole number of milliseconds.`)
  }

  const gateway = await createGateway(config, logger)
  try {
    let projectId: string | null = null
    if (values.project) {
      const project = await gateway.tokens.findProject(values.project)
      if (!project) {
        throw new UsageError(`No project named or with id "${values.project}".`)
      }
      projectId = project.id
    }
    const report = await gateway.reconcile({
      isFix: values.fix,
      projectId,
      minAgeMs: minAgeText === undefined ? config.reconcileMinAgeMs : Number(minAgeText),
    })
    if (values.json) {
      console.log(JSON.stringify(report, null, 2))
    } else {
      for (const line of formatReport(report)) {
        console.log(line)
      }
    }
  } finally {
    await gateway.close()
  }
}
