import type { Knex } from 'knex'
import { ulid } from 'ulid'
import { generateToken, hashToken, tokenPrefix } from '../tokens.js'
import type { Mode, Principal } from '../uploads/ports.js'
import { DEFAULT_TIER } from '../uploads/tiers.js'

export interface Project {
  id: string
  name: string
  tier: string
}

export interface TokenSummary {
  id: string
  projectId: string
  projectName: string
  mode: Mode
  prefix: string
  scopes: string[]
  createdAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export class ProjectNotFoundError extends Error {
  override name = 'ProjectNotFoundError'
}

/** Projects and their tokens. A token's secret is returned once, at creation, and stored as a hash. */
export class TokenRepository {
  constructor(private readonly knex: Knex) {}

  async createProject(name: string, tier: string = DEFAULT_TIER): Promise<Project> {
    const id = `p_${ulid()}`
    await this.knex('projects').insert({ id, name, tier })

    return { id, name, tier }
  }

  async findProject(nameOrId: string): Promise<Project | undefined> {
    const row = await this.knex('projects').where({ name: nameOrId }).orWhere({ id: nameOrId }).first()

    return row ? { id: row.id, name: row.name, tier: row.tier } : undefined
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.knex('projects').orderBy('name')

    return rows.map((row) => ({ id: row.id, name: row.name, tier: row.tier }))
  }

  /** Moves a project to another tier; throws ProjectNotFoundError when there is no such project. */
  async setTier(nameOrId: string, tier: string): Promise<Project> {
    const project = await this.findProject(nameOrId)
    if (!project) {
      throw new ProjectNotFoundError(`No project named or with id "${nameOrId}".`)
    }
    await this.knex('projects').where({ id: project.id }).update({ tier })

    return { ...project, tier }
  }

  /** Lists tokens with their prefixes and scopes, never their secrets. */
  async listTokens(projectId?: string): Promise<TokenSummary[]> {
    const rows = await this.knex('tokens')
      .join('projects', 'projects.id', 'tokens.project_id')
      .modify((query) => {
        if (projectId) {
          query.where('tokens.project_id', projectId)
        }
      })
      .orderBy('tokens.created_at')
      .select('tokens.*', 'projects.name as project_name')

    return rows.map((row: Record<string, any>) => ({
      id: row.id,
      projectId: row.project_id,
      projectName: row.project_name,
      mode: row.mode,
      prefix: row.token_prefix,
      scopes: row.scopes,
      createdAt: new Date(row.created_at),
      lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
      revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    }))
  }

  /** Revokes a token by id; returns false when no unrevoked token has that id. */
  async revokeToken(id: string): Promise<boolean> {
    const count = await this.knex('tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: new Date() })

    return count > 0
  }

  async findOrCreateProject(name: string): Promise<Project> {
    await this.knex('projects')
      .insert({ id: `p_${ulid()}`, name, tier: DEFAULT_TIER })
      .onConflict('name')
      .ignore()
    const row = await this.knex('projects').where({ name }).first()

    return { id: row.id, name: row.name, tier: row.tier }
  }

  async createToken(projectId: string, mode: Mode, scopes: readonly string[]) {
    const token = generateToken(mode)
    const id = `tok_${ulid()}`
    await this.knex('tokens').insert({
      id,
      project_id: projectId,
      mode,
      token_hash: hashToken(token),
      token_prefix: tokenPrefix(token),
      scopes: JSON.stringify(scopes),
    })

    return { id, token }
  }

  /** Finds the live, unrevoked token for a secret and records its use. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const row = await this.knex('tokens')
      .where({ token_hash: hashToken(token) })
      .whereNull('revoked_at')
      .first()
    if (!row) {
      return undefined
    }

    // One write a minute per token is enough for "last used", and spares every PATCH a write.
    await this.knex('tokens')
      .where({ id: row.id })
      .andWhere((query) =>
        query.whereNull('last_used_at').orWhere('last_used_at', '<', new Date(Date.now() - 60_000)),
      )
      .update({ last_used_at: new Date() })

    return { projectId: row.project_id, mode: row.mode, scopes: row.scopes, tokenId: row.id }
  }
}
