import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { bootLogger, createApp } from './app.factory.js';
import { ConfigError } from './config/config.schema.js';
import { loadAppConfig } from './config/app-config.js';

async function main(): Promise<void> {
  // A .env file in the working directory, if present (real variables win).
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = await loadAppConfig(process.env);
  const app = await createApp(config);
  await app.listen({ port: config.env.PORT, host: config.env.HOST });
  const where = config.env.DATABASE_URL
    ? 'PostgreSQL (DATABASE_URL)'
    : `embedded PGlite in ${config.dataDir}`;
  bootLogger.log(`listening on http://localhost:${config.env.PORT}/graphql, database: ${where}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(e.message);
  } else {
    bootLogger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  process.exit(1);
});
