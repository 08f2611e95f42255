/** One row per stored file; test and live files of a project never mix. */
export async function up(knex) {
  await knex.schema.createTable('files', (table) => {
    table.text('id').primary()
    table.text('project_id').notNullable().references('projects.id').onDelete('CASCADE')
    table.text('mode').notNullable()
    table.text('key').notNullable().unique()
    table.bigInteger('size').notNullable()
    table.text('content_type').notNullable()
    table.text('sha256').notNullable()
    table.text('original_name')
    table.jsonb('tags').notNullable().defaultTo('[]')
    table.text('folder')
    table.text('abuse_status').notNullable().defaultTo('clean')
    table.text('visibility').notNullable().defaultTo('public')
    table.text('storage_class').notNullable().defaultTo('standard')
    table.timestamp('created_at', { useTz: true }).notNullable()
    table.timestamp('updated_at', { useTz: true }).notNullable()
    table.index(['project_id', 'mode', 'created_at', 'id'], 'files_listing_idx')
  })
}

export async function down(knex) {
  await knex.schema.dropTable('files')
}
