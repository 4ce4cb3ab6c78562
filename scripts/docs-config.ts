/**
 * `npm run docs:config`: rewrites the configuration section of docs/api.md
 * (between `<!-- config:begin -->` and `<!-- config:end -->`) from
 * .env.example, which documents every variable of src/config/config.schema.ts
 * (test/production/config.test.ts checks that). One table per section of
 * .env.example: the variable, the value .env.example shows (the default, or
 * an example for a variable unset by default), and the comment above it.
 * test/contract/docs.test.ts fails when a variable is missing from docs/api.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BEGIN = '<!-- config:begin (npm run docs:config writes this part from .env.example) -->';
const END = '<!-- config:end -->';

interface Variable {
  name: string;
  value: string;
  about: string[];
}

export function configMarkdown(envExample: string): string {
  const sections: { title: string; vars: Variable[] }[] = [];
  let about: string[] = [];
  for (const raw of envExample.split('\n')) {
    const line = raw.trim();
    const section = /^# ---\s*(.+?)\s*-*$/.exec(line);
    if (section) {
      sections.push({ title: section[1], vars: [] });
      about = [];
      continue;
    }
    const variable = /^#?\s*([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (variable && sections.length) {
      sections.at(-1)!.vars.push({ name: variable[1], value: variable[2], about });
      about = [];
      continue;
    }
    if (line.startsWith('#') && sections.length) about.push(line.replace(/^#\s?/, ''));
    else about = [];
  }
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  for (const s of sections) {
    out.push(
      `### ${s.title}`,
      '',
      '| variable | in .env.example | meaning |',
      '| --- | --- | --- |',
    );
    for (const v of s.vars) {
      const value = v.value === '' ? 'unset' : `\`${cell(v.value)}\``;
      out.push(`| \`${v.name}\` | ${value} | ${cell(v.about.join(' ')) || ''} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function main(): void {
  const file = join(root, 'docs/api.md');
  const doc = readFileSync(file, 'utf8');
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b === -1 || e < b) throw new Error(`docs/api.md has no ${BEGIN} ... ${END} block`);
  const table = configMarkdown(readFileSync(join(root, '.env.example'), 'utf8'));
  writeFileSync(file, `${doc.slice(0, b + BEGIN.length)}\n\n${table}\n${doc.slice(e)}`);
  console.log('docs/api.md: configuration section rewritten from .env.example');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
