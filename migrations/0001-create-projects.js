/** Projects own tokens, files and usage; the tier names their quotas. */
export async function up(knex) {
  await knex.schema.createTable('projects', (table) => {
    table.text('id').primary()
    table.text('name').notNullable().unique()
    table.text('tier').notNullable().defaultTo('default')
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
}

export async function down(knex) {
  await knex.schema.dropTable('projects')
}
