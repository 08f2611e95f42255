#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { openConfiguredDatabase, createGateway } from './gateway.js'
import { TokenRepository } from './db/token-repo.js'
import { createLogger } from './logger.js'
import { ListenError, serve } from './server.js'
import { SCOPES, isScope } from './tokens.js'

const USAGE = `Usage: media-gateway <command> [options]

Commands:
  serve                       Start the gateway (the default command).
  migrate                     Apply database migrations and exit.
  token create --project NAME --scopes a,b [--mode live|test]
                              Create a token, and the project if it is new.
                              The token is printed alone on the last line.
  cleanup                     Remove expired unfinished uploads and exit.
  help                        Show this text.

Scopes: ${SCOPES.join(', ')}
Configuration comes from environment variables; see the README.`

class UsageError extends Error {
  override name = 'UsageError'
}

async function runMigrate() {
  const config = loadConfig()
  const opened = await openConfiguredDatabase(config)
  await opened.close()
  console.log(`migrations applied to ${opened.database.kind}`)
}

async function runTokenCreate(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      project: { type: 'string' },
      scopes: { type: 'string' },
      mode: { type: 'string', default: 'live' },
    },
    allowPositionals: true,
  })
  if (positionals[0] !== 'create') {
    throw new UsageError('Unknown token command: use "token create".')
  }
  if (!values.project) {
    throw new UsageError('Missing --project NAME.')
  }
  const scopes = (values.scopes ?? '').split(',').map((scope) => scope.trim()).filter(Boolean)
  if (scopes.length === 0) {
    throw new UsageError('Missing --scopes, for example --scopes media:read,media:write.')
  }
  const unknown = scopes.filter((scope) => !isScope(scope))
  if (unknown.length > 0) {
    throw new UsageError(`Unknown scope: ${unknown.join(', ')}. Valid scopes: ${SCOPES.join(', ')}.`)
  }
  if (values.mode !== 'live' && values.mode !== 'test') {
    throw new UsageError(`Invalid --mode "${values.mode}": use live or test.`)
  }

  const config = loadConfig()
  const opened = await openConfiguredDatabase(config)
  try {
    const tokens = new TokenRepository(opened.database.knex)
    const project = await tokens.findOrCreateProject(values.project)
    const created = await tokens.createToken(project.id, values.mode, scopes)
    console.log(`project ${project.name} (${project.id}), mode ${values.mode}, scopes ${scopes.join(',')}`)
    console.log('the token is shown once; store it now:')
    console.log(created.token)
  } finally {
    await opened.close()
  }
}

async function runCleanup() {
  const config = loadConfig()
  const logger = createLogger(config.logLevel)
  const gateway = await createGateway(config, logger)
  try {
    const count = await gateway.uploads.cleanupExpired()
    console.log(`${count} expired uploads removed`)
  } finally {
    await gateway.close()
  }
}

async function main(argv: string[]) {
  const [command = 'serve', ...rest] = argv
  switch (command) {
    case 'serve': {
      const config = loadConfig()
      await serve(config, createLogger(config.logLevel))

      return
    }
    case 'migrate':
      return runMigrate()
    case 'token':
      return runTokenCreate(rest)
    case 'cleanup':
      return runCleanup()
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE)

      return
    default:
      throw new UsageError(`Unknown command "${command}".`)
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (error instanceof ConfigError || error instanceof DataDirLockedError || error instanceof ListenError) {
    console.error(error.message)
    process.exit(1)
  }
  console.error(error)
  process.exit(1)
})
