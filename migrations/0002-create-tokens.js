/** API tokens, stored only as a SHA-256 of the secret; the prefix is kept for display. */
export async function up(knex) {
  await knex.schema.createTable('tokens', (table) => {
    table.text('id').primary()
    table.text('project_id').notNullable().references('projects.id').onDelete('CASCADE')
    table.text('mode').notNullable()
    table.text('token_hash').notNullable().unique()
    table.text('token_prefix').notNullable()
    table.jsonb('scopes').notNullable()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('last_used_at', { useTz: true })
    table.timestamp('revoked_at', { useTz: true })
  })
  await knex.raw("ALTER TABLE tokens ADD CONSTRAINT tokens_mode_check CHECK (mode IN ('live', 'test'))")
}

export async function down(knex) {
  await knex.schema.dropTable('tokens')
}
