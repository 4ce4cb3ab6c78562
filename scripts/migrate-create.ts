/**
 * `npm run migrate:create -- <name>`: the offline `prisma migrate dev --create-only`.
 * Diffs the migrations folder against prisma/schema.prisma with Prisma's wasm
 * schema engine and writes the next migration in Prisma's layout.
 */
import { relative } from 'node:path';
import { createMigration, defaultPaths } from './lib/migrations.js';

const name = process.argv[2];
if (!name || process.argv.length > 3) {
  console.error('usage: npm run migrate:create -- <name>');
  process.exit(2);
}
try {
  const created = await createMigration({ ...defaultPaths(), name });
  if (!created) console.log('no changes');
  else
    console.log(
      `created ${relative(process.cwd(), created.folder)}/migration.sql\n\n${created.sql}`,
    );
  process.exit(0); // the wasm engine may still hold handles
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
