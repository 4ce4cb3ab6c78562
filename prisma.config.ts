// Prisma 7 keeps the datasource URL out of schema.prisma. The app itself
// never reads this file: it builds its client with a driver adapter
// (src/database). This is for the Prisma CLI (generate, and
// `prisma migrate deploy` where the native engine exists).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/postgres' },
});
