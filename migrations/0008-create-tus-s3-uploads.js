/**
 * The state of each tus upload on S3, kept by the gateway's own S3 upload
 * store so a PATCH needs no S3 request to learn it: the multipart upload id,
 * the parts stored so far with their ETags and sizes, and the object holding
 * bytes too few for a part (the tail). Every instance shares it.
 */
export async function up(knex) {
  await knex.schema.createTable('tus_s3_uploads', (table) => {
    table.text('key').primary()
    table.text('multipart_upload_id').notNullable()
    table.bigInteger('size').nullable()
    table.bigInteger('offset').notNullable().defaultTo(0)
    table.integer('part_size').notNullable()
    table.jsonb('parts').notNullable()
    table.text('tail_key').nullable()
    table.integer('tail_size').notNullable().defaultTo(0)
    table.jsonb('metadata').notNullable()
    table.text('creation_date').notNullable()
    table.boolean('is_completed').notNullable().defaultTo(false)
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
}

export async function down(knex) {
  await knex.schema.dropTable('tus_s3_uploads')
}
