/**
 * Quota accounting. `usage` holds committed totals per project, mode and
 * metric; `quota_reservations` holds bytes promised to uploads in progress.
 */
export async function up(knex) {
  await knex.schema.createTable('usage', (table) => {
    table.text('project_id').notNullable().references('projects.id').onDelete('CASCADE')
    table.text('mode').notNullable()
    table.text('metric').notNullable()
    table.bigInteger('used').notNullable().defaultTo(0)
    table.primary(['project_id', 'mode', 'metric'])
  })
  await knex.schema.createTable('quota_reservations', (table) => {
    table.text('upload_id').primary()
    table.text('project_id').notNullable().references('projects.id').onDelete('CASCADE')
    table.text('mode').notNullable()
    table.bigInteger('bytes').notNullable()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['project_id', 'mode'], 'quota_reservations_project_idx')
  })
}

export async function down(knex) {
  await knex.schema.dropTable('quota_reservations')
  await knex.schema.dropTable('usage')
}
