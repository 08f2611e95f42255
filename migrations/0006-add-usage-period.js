/**
 * Usage per period: cumulative metrics keep one row with period '', and
 * monthly metrics get a row per month ('2026-12'), so a new month starts at zero.
 */
export async function up(knex) {
  await knex.schema.alterTable('usage', (table) => {
    table.text('period').notNullable().defaultTo('')
  })
  await knex.raw('ALTER TABLE usage DROP CONSTRAINT usage_pkey')
  await knex.raw('ALTER TABLE usage ADD PRIMARY KEY (project_id, mode, metric, period)')
}

export async function down(knex) {
  await knex('usage').whereNot({ period: '' }).delete()
  await knex.raw('ALTER TABLE usage DROP CONSTRAINT usage_pkey')
  await knex.raw('ALTER TABLE usage ADD PRIMARY KEY (project_id, mode, metric)')
  await knex.schema.alterTable('usage', (table) => {
    table.dropColumn('period')
  })
}
