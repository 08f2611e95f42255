/**
 * S3Store's metadata cache, shared by every gateway instance: the parsed
 * `.info` of each upload in progress, so a PATCH need not read it from S3.
 */
export async function up(knex) {
  await knex.schema.createTable('tus_upload_cache', (table) => {
    table.text('key').primary()
    table.jsonb('value').notNullable()
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
}

export async function down(knex) {
  await knex.schema.dropTable('tus_upload_cache')
}
