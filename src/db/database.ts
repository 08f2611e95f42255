import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import knexFactory, { type Knex } from 'knex'
import ClientPgLite from 'knex-pglite'
import pg from 'pg'

// pg returns BIGINT (int8) as a string to avoid precision loss. Sizes here stay
// far below 2^53, so parse them as numbers, as PGlite already does.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

export type DatabaseKind = 'postgres' | 'pglite'

export interface Database {
  knex: Knex
  kind: DatabaseKind
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** Postgres connection string; without it PGlite is used. */
  databaseUrl: string | null
  /** Folder for PGlite's data; null keeps PGlite in memory. */
  pgliteDir: string | null
}

/** Finds the folder with package.json above this file, so paths work from src/ and dist/. */
function findPackageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder)
    if (parent === folder) {
      throw new Error('package.json not found above the gateway source')
    }
    folder = parent
  }

  return folder
}

export const MIGRATIONS_DIR = join(findPackageRoot(), 'migrations')

export function openDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) {
    const knex = knexFactory({
      client: 'pg',
      connection: options.databaseUrl,
      pool: { min: 0, max: 10 },
    })

    return { knex, kind: 'postgres', close: () => knex.destroy() }
  }

  let connection: Knex.StaticConnectionConfig = {} as Knex.StaticConnectionConfig
  if (options.pgliteDir) {
    mkdirSync(options.pgliteDir, { recursive: true })
    connection = { filename: resolve(options.pgliteDir) }
  }
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection })

  return { knex, kind: 'pglite', close: () => knex.destroy() }
}

/** Applies every migration not applied yet; returns the names applied now. */
export async function migrateLatest(database: Database): Promise<string[]> {
  const [, applied] = (await database.knex.migrate.latest({
    directory: MIGRATIONS_DIR,
    loadExtensions: ['.js'],
  })) as [number, string[]]

  return applied
}
