import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { loadAppConfig } from '../config/app-config.js';
import { openDatabase } from '../database/prisma.js';
import { RetentionJob } from '../retention/retention.job.js';

/**
 * `npm run cleanup`: the retention cleanup once, until nothing is left to
 * delete, on the database the server would use. The server runs the same job
 * every RETENTION_INTERVAL; this is for RETENTION_INTERVAL=0 with a scheduler
 * of your own (cron, a Kubernetes CronJob), or to work off a backlog at once.
 * On PostgreSQL it may run while servers run (the advisory lock keeps it to
 * one at a time); the embedded database belongs to one process, so stop the
 * server first there. Prints one JSON line: rows deleted per table.
 */
async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = await loadAppConfig(process.env);
  const db = await openDatabase(config);
  try {
    const job = new RetentionJob(db, config.env);
    const r = await job.run();
    if (!r.ran) {
      console.log(
        JSON.stringify({ event: 'retention_skipped', reason: 'another instance runs it' }),
      );
      return 0;
    }
    console.log(JSON.stringify({ event: 'retention', ...r.deleted, ms: r.ms }));
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
