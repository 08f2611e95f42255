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

/** Projects and their tokens. A token's secret is returned once, at creation, and stored as a hash. */
export class TokenRepository {
  constructor(private readonly knex: Knex) {}

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
