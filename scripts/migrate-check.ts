/**
 * `npm run migrate:check`: exit 0 when prisma/migrations builds exactly
 * prisma/schema.prisma, exit 1 (printing the missing SQL) when they drift or
 * when a migration does not apply cleanly to a fresh database.
 */
import { checkMigrations, defaultPaths } from './lib/migrations.js';

try {
  const { inSync, sql } = await checkMigrations(defaultPaths());
  if (inSync) {
    console.log('migrations and schema.prisma are in sync');
    process.exit(0);
  }
  console.error(
    'schema.prisma has changes without a migration (npm run migrate:create -- <name>):\n',
  );
  console.error(sql);
  process.exit(1);
} catch (e) {
  console.error(`migrations do not apply cleanly to a fresh database:\n${(e as Error).message}`);
  process.exit(1);
}
