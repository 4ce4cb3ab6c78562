import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/config.schema.js';

/**
 * docs/api.md is the API reference users read: every operation of
 * schema.gql has its section, every configuration variable its line; and
 * nothing in the repository points at a contract file outside it.
 */
const root = resolve(import.meta.dirname, '../..');
const api = readFileSync(join(root, 'docs/api.md'), 'utf8');

describe('docs/api.md', () => {
  it('has a section for every query and mutation of schema.gql', () => {
    const schema = buildSchema(readFileSync(join(root, 'schema.gql'), 'utf8'));
    const operations = [
      ...Object.keys(schema.getQueryType()?.getFields() ?? {}),
      ...Object.keys(schema.getMutationType()?.getFields() ?? {}),
    ];
    expect(operations.length).toBeGreaterThan(10);
    const missing = operations.filter((op) => !new RegExp(`^#### ${op}$`, 'm').test(api));
    // Add a `#### <operation>` section to docs/api.md: what it does, its errors, its limits.
    expect(missing).toEqual([]);
  });

  it('names every configuration variable (npm run docs:config rewrites that part)', () => {
    const missing = Object.keys(envSchema.shape).filter((k) => !api.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  const arch = readFileSync(join(root, 'docs/architecture.md'), 'utf8');

  it('every file it names exists', () => {
    const paths = [...arch.matchAll(/`((?:src|prisma|test)\/[\w./-]+)`/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('every module it names is a class of src/', () => {
    const modules = [...new Set([...arch.matchAll(/`(\w+Module)`/g)].map((m) => m[1]))];
    expect(modules.length).toBeGreaterThan(10);
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (name !== 'generated') walk(path);
        } else if (name.endsWith('.ts')) sources.push(readFileSync(path, 'utf8'));
      }
    };
    walk(join(root, 'src'));
    const all = sources.join('\n');
    expect(modules.filter((m) => !new RegExp(`export class ${m}\\b`).test(all))).toEqual([]);
  });
});

describe('the repository refers to itself, not to a contract file outside it', () => {
  it('no CONTRACT.md or shared/ reference in src, test, scripts, docs, examples, README', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === 'generated' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|tsx|mjs|js|md|graphql)$/.test(name)) {
          const text = readFileSync(path, 'utf8');
          if (/CONTRACT\.md|\/work\/shared|shared\/[A-Z]+\.md/.test(text)) {
            offenders.push(relative(root, path));
          }
        }
      }
    };
    for (const d of ['src', 'test', 'scripts', 'docs', 'examples']) walk(join(root, d));
    if (/CONTRACT\.md|\/work\/shared/.test(readFileSync(join(root, 'README.md'), 'utf8'))) {
      offenders.push('README.md');
    }
    // Point at docs/api.md (the API) or say the fact itself.
    expect(offenders.filter((f) => f !== 'test/contract/docs.test.ts')).toEqual([]);
  });
});

describe('what the docs point a reader at exists', () => {
  it('every test file named in README.md, docs/ and examples/ (outside node_modules) exists', () => {
    const texts: [string, string][] = [
      ['README.md', readFileSync(join(root, 'README.md'), 'utf8')],
    ];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|tsx|mjs|js|md)$/.test(name)) {
          texts.push([relative(root, path), readFileSync(path, 'utf8')]);
        }
      }
    };
    for (const d of ['docs', 'examples']) walk(join(root, d));
    const missing: string[] = [];
    for (const [file, text] of texts) {
      for (const m of text.matchAll(/\btest\/[\w/-]+\.test\.ts\b/g)) {
        if (!existsSync(join(root, m[0]))) missing.push(`${file}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
