import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, describe, expect, it } from 'vitest';
import config from '../../examples/codegen/codegen.js';
import { splitOperations } from '../../scripts/split-operations.js';

/**
 * What a client outside the repository takes: docs/operations/<Name>.graphql
 * (one operation each, with exactly its fragments) and the codegen config of
 * examples/codegen, which maps DateTime to string.
 */
const root = resolve(import.meta.dirname, '../..');
const opsDir = join(root, 'docs/operations');
// Under the repository, so that the generated file's imports resolve from its node_modules.
const work = join(root, 'node_modules/.cache/codegen-example');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('documents for clients outside the repository', () => {
  it('one file per operation of docs/operations.graphql, each holding only the fragments it uses', () => {
    const source = readFileSync(join(root, 'docs/operations.graphql'), 'utf8');
    const operations = [...source.matchAll(/^(?:query|mutation|subscription) (\w+)/gm)].map(
      (m) => `${m[1]}.graphql`,
    );
    expect(readdirSync(opsDir).sort()).toEqual(operations.sort());
    const me = readFileSync(join(opsDir, 'Me.graphql'), 'utf8');
    expect(me).toMatch(/^query Me \{/m);
    expect(me).toMatch(/^fragment UserFields on User/m);
    expect(me).not.toMatch(/fragment AuthPayloadFields|fragment SessionFields/);
    const login = readFileSync(join(opsDir, 'Login.graphql'), 'utf8');
    // Fragments used through other fragments come along.
    expect(login).toMatch(/^fragment AuthPayloadFields/m);
    expect(login).toMatch(/^fragment UserFields/m);
    expect(login.match(/^(query|mutation) /gm)).toHaveLength(1);
  });

  it('splitting keeps the comment above an operation and drops a file header', () => {
    const files = splitOperations(
      '# The file header.\n\nfragment F on User {\n  id\n}\n\n# Variables: none\nquery A {\n  me {\n    ...F\n  }\n}\n\nquery B {\n  me {\n    id\n  }\n}\n',
    );
    expect([...files.keys()]).toEqual(['A.graphql', 'B.graphql']);
    expect(files.get('A.graphql')).toContain('# Variables: none\nquery A {');
    expect(files.get('A.graphql')).toContain('fragment F on User');
    expect(files.get('A.graphql')).not.toContain('The file header');
    expect(files.get('B.graphql')).not.toContain('fragment F');
  });

  it('examples/codegen/codegen.ts types DateTime as string', async () => {
    mkdirSync(work, { recursive: true });
    const out = join(work, 'generated.ts');
    const [target] = Object.values(config.generates);
    await generate(
      {
        ...config,
        silent: true,
        schema: join(root, 'schema.gql'),
        documents: [join(opsDir, '*.graphql')],
        generates: { [out]: target },
      },
      true,
    );
    writeFileSync(
      join(work, 'usage.ts'),
      [
        "import type { MeQuery, LoginMutationVariables } from './generated.js';",
        'declare const data: MeQuery;',
        'export const createdAt: string = data.me.createdAt;',
        '// @ts-expect-error DateTime is a string, not a Date (nor unknown, nor any)',
        'export const asDate: Date = data.me.createdAt;',
        "export const vars: LoginMutationVariables = { input: { email: 'a@b.c', password: 'p' } };",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          noEmit: true,
          strict: true,
          skipLibCheck: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
        },
        files: ['usage.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', work],
      { encoding: 'utf8' },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});
