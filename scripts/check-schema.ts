/**
 * CI check of the public GraphQL surface (npm run schema:check). Fails when:
 *  (a) schema.gql is not what the code generates (regenerated into a temp file
 *      from the built app: `node dist/src/cli/print-schema.js <out>`);
 *  (b) the committed generated documents (test/generated, the React example)
 *      are not what `graphql-codegen` makes of schema.gql + docs/operations.graphql;
 *  (c) schema.gql has a breaking change against test/contract/contract.graphql,
 *      the committed copy of the contract's SDL (changing that file is the
 *      deliberate act of changing the contract);
 *  (d) docs/operations/ (one file per operation, for clients outside the
 *      repository) is not what `npm run operations` makes of
 *      docs/operations.graphql, or one of its files is not valid on its own.
 * Each problem is printed with what to run to fix it; the exit code is 1 if any.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';
import { checkOperations } from './split-operations.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GENERATED = ['test/generated/graphql.ts', 'examples/react-apollo/src/generated/graphql.ts'];
const CONTRACT = 'test/contract/contract.graphql';
const SCHEMA = 'schema.gql';

const problems: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'schema-check-'));
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
const read = (p: string) => readFileSync(p, 'utf8').replace(/\r\n/g, '\n');

/** The first differing line, to point at the drift (long lines clipped around it). */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const l = x[i] ?? '';
    const r = y[i] ?? '';
    let col = 0;
    while (col < l.length && l[col] === r[col]) col++;
    const clip = (s: string | undefined) =>
      s === undefined ? '<end of file>' : s.slice(Math.max(0, col - 60), col + 60);
    return `line ${i + 1}, column ${col + 1}:\n    committed: ${clip(x[i])}\n    generated: ${clip(y[i])}`;
  }
  return '';
}

try {
  // (a) schema.gql == the schema the code builds
  run('npm', ['run', '--silent', 'build']);
  const printed = join(tmp, 'schema.gql');
  run('node', ['dist/src/cli/print-schema.js', printed]);
  const committedSchema = read(join(root, SCHEMA));
  const printedSchema = read(printed);
  if (committedSchema !== printedSchema) {
    problems.push(
      `${SCHEMA} differs from the schema the code generates (run \`npm run schema:print\` and commit it), ${firstDifference(committedSchema, printedSchema)}`,
    );
  }

  // (b) committed generated documents == a fresh codegen run
  const out = join(tmp, 'codegen');
  run('npx', ['graphql-codegen', '--config', 'codegen.ts'], { CODEGEN_OUT_DIR: out });
  for (const f of GENERATED) {
    const committed = join(root, f);
    if (!existsSync(committed)) {
      problems.push(`${f} is missing (run \`npm run codegen\` and commit it)`);
      continue;
    }
    const a = read(committed);
    const b = read(join(out, f));
    if (a !== b) {
      problems.push(
        `${f} is out of date (run \`npm run codegen\` and commit it), ${firstDifference(a, b)}`,
      );
    }
  }

  // (c) no breaking change against the contract baseline
  const changes = await diff(buildSchema(read(join(root, CONTRACT))), buildSchema(committedSchema));
  for (const c of changes) {
    if (c.criticality.level === CriticalityLevel.Breaking) {
      problems.push(`breaking change against ${CONTRACT}: ${c.message}`);
    }
  }

  // (d) the per-operation documents
  for (const p of checkOperations())
    problems.push(`${p} (run \`npm run operations\` and commit it)`);
} catch (e) {
  problems.push(`the check itself failed: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

if (problems.length) {
  console.error(`\nschema:check FAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `\nschema:check ok: ${SCHEMA} matches the code, generated documents are current, no breaking change against ${CONTRACT}`,
);
