// `prisma generate` needs no engine, but the CLI tries to download the native
// schema engine first; that download is impossible offline and not needed, so
// point it at /bin/false.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const bin = 'node_modules/prisma/build/index.js';
if (!existsSync(bin)) {
  console.log('prisma CLI not installed (production install?): skipping generate');
  process.exit(0);
}
const r = spawnSync(process.execPath, [bin, 'generate', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(r.status ?? 1);
