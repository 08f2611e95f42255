#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { openConfiguredDatabase, createGateway } from './gateway.js'
import { UsageError, runProjectCommand, runReconcileCommand, runTokenCommand } from './admin-commands.js'
import { createLogger } from './logger.js'
import { ListenError, serve } from './server.js'
import { SCOPES } from './tokens.js'
import { UPLOAD_USAGE, UploadFailure, runUploadCommand } from './upload-command.js'

const USAGE = `Usage: media-gateway <command> [options]

Commands:
  serve                       Start the gateway (the default command).
  migrate                     Apply database migrations and exit.
  project create NAME [--tier TIER]
                              Create a project on a tier (default: default).
  project list                List projects: id, name, tier.
  project set-tier NAME|ID TIER
                              Move a project to another tier.
  token create --project NAME --scopes a,b [--mode live|test]
                              Create a token, and the project if it is new.
                              The token is printed alone on the last line.
  token list [--project NAME|ID]
                              List tokens: prefixes, scopes and times, never secrets.
  token revoke TOKEN_ID       Revoke a token; requests with it get 401 at once.
  cleanup                     Remove expired unfinished uploads and exit.
  reconcile [--fix] [--json] [--project NAME|ID] [--min-age-ms N]
                              Report objects without rows, rows without objects,
                              stale multipart and tus uploads, dangling quota
                              reservations and orphan S3 upload state; --fix
                              repairs them. Leftovers younger
                              than --min-age-ms (RECONCILE_MIN_AGE_MS) are skipped.
${UPLOAD_USAGE}
  help                        Show this text.

Scopes: ${SCOPES.join(', ')}
Configuration comes from environment variables; see the README.`

async function runMigrate() {
  const config = loadConfig()
  const opened = await openConfiguredDatabase(config)
  await opened.close()
  console.log(`migrations applied to ${opened.database.kind}`)
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
    case 'project':
      return runProjectCommand(loadConfig(), rest)
    case 'token':
      return runTokenCommand(loadConfig(), rest)
    case 'cleanup':
      return runCleanup()
    case 'reconcile': {
      const config = loadConfig()

      return runReconcileCommand(config, createLogger(config.logLevel), rest)
    }
    case 'upload':
      process.exitCode = await runUploadCommand(rest)

      return
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
  if (
    error instanceof ConfigError ||
    error instanceof DataDirLockedError ||
    error instanceof ListenError ||
    error instanceof UploadFailure
  ) {
    console.error(error.message)
    process.exit(1)
  }
  console.error(error)
  process.exit(1)
})
