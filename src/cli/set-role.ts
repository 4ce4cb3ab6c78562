import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { loadAppConfig } from '../config/app-config.js';
import { openDatabase } from '../database/prisma.js';
import { normaliseEmail } from '../common/rules.js';
import { Role } from '../generated/prisma/enums.js';

/**
 * `npm run user:role -- <email> <ADMIN|USER>`: promotes (or demotes) an
 * existing account, on the database the server would use (DATABASE_URL, or
 * the embedded one in DATA_DIR; stop the server first when embedded, PGlite
 * allows one process). An address listed in ADMIN_EMAILS gets ADMIN once it
 * is verified (verifyEmail, or a completed password reset), never at
 * registration.
 */
async function main(): Promise<number> {
  const [emailArg, roleArg] = process.argv.slice(2);
  const role = roleArg?.toUpperCase() as Role | undefined;
  if (!emailArg || !role || !Object.values(Role).includes(role)) {
    console.error('usage: npm run user:role -- <email> <ADMIN|USER>');
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = await loadAppConfig(process.env);
  const db = await openDatabase(config);
  try {
    const email = normaliseEmail(emailArg);
    const r = await db.prisma.user.updateMany({ where: { email }, data: { role } });
    if (r.count === 0) {
      console.error(`no user with email ${email}`);
      return 1;
    }
    console.log(`${email} is now ${role}`);
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
