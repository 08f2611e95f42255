/**
 * Resumable uploads in progress: what was declared at creation and the
 * inspection state (hash, head, text check) saved after each PATCH.
 */
export async function up(knex) {
  await knex.schema.createTable('uploads', (table) => {
    table.text('id').primary()
    table.text('project_id').notNullable().references('projects.id').onDelete('CASCADE')
    table.text('mode').notNullable()
    table.text('store_key').notNullable().unique()
    table.text('declared_type').notNullable()
    table.bigInteger('size')
    table.text('original_name')
    table.text('folder')
    table.jsonb('tags').notNullable().defaultTo('[]')
    table.text('visibility').notNullable().defaultTo('public')
    table.jsonb('inspection')
    table.text('status').notNullable().defaultTo('open')
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('expires_at', { useTz: true }).notNullable()
    table.index(['status', 'expires_at'], 'uploads_expiry_idx')
  })
}

export async function down(knex) {
  await knex.schema.dropTable('uploads')
}
