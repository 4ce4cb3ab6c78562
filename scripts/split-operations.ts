/**
 * `npm run operations`: writes docs/operations/<Name>.graphql, one file per
 * operation of docs/operations.graphql, each with exactly the fragments it
 * uses (directly or through other fragments) and the comments written above
 * it. A client outside this repository takes the files it needs, one by one:
 * a file holding an unused fragment is refused by GraphQL validation ("Fragment
 * is never used"), and Apollo Client refuses a document with several
 * operations.
 *
 * docs/operations.graphql stays the one source (codegen reads it); these files
 * are generated from it. `--check` writes nothing and fails when the files
 * differ from what would be written, or when one of them is not a valid
 * document for schema.gql on its own (`npm run schema:check` runs it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  Kind,
  parse,
  validate,
  visit,
  type DefinitionNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = 'docs/operations.graphql';
const OUT_DIR = 'docs/operations';

const HEADER = (name: string) =>
  `# ${name}: generated from ${SOURCE} by \`npm run operations\` (do not edit; edit the source).\n` +
  `# One operation with exactly the fragments it uses: a document a client can take on its own.\n`;

/** The comment lines right above a definition (no blank line between: a file header is not one). */
function commentAbove(text: string, def: DefinitionNode, previousEnd: number): string {
  const between = text.slice(previousEnd, def.loc!.start).split('\n');
  // The last piece is the definition's own line, up to where it starts.
  between.pop();
  const lines: string[] = [];
  for (let i = between.length - 1; i >= 0; i--) {
    const line = between[i].trim();
    if (!line.startsWith('#')) break;
    lines.unshift(line);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

function spreadsIn(node: DefinitionNode): Set<string> {
  const names = new Set<string>();
  visit(node, {
    FragmentSpread(spread) {
      names.add(spread.name.value);
    },
  });
  return names;
}

/** { file name: content } for every operation of the source. */
export function splitOperations(text: string): Map<string, string> {
  const doc = parse(text);
  const fragments = new Map<string, FragmentDefinitionNode>();
  const comments = new Map<DefinitionNode, string>();
  let previousEnd = 0;
  for (const def of doc.definitions) {
    comments.set(def, commentAbove(text, def, previousEnd));
    previousEnd = def.loc!.end;
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const source = (def: DefinitionNode) => text.slice(def.loc!.start, def.loc!.end);
  const out = new Map<string, string>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const op = def as OperationDefinitionNode;
    if (!op.name) throw new Error(`${SOURCE}: every operation needs a name`);
    const name = op.name.value;
    // Every fragment reachable from the operation, in the source's order.
    const used = new Set<string>();
    const pending = [...spreadsIn(op)];
    while (pending.length) {
      const f = pending.pop()!;
      if (used.has(f)) continue;
      const frag = fragments.get(f);
      if (!frag) throw new Error(`${SOURCE}: ${name} uses an unknown fragment ${f}`);
      used.add(f);
      pending.push(...spreadsIn(frag));
    }
    const parts = [HEADER(name), comments.get(op)! + source(op) + '\n'];
    for (const [fname, frag] of fragments) {
      if (used.has(fname)) parts.push(comments.get(frag)! + source(frag) + '\n');
    }
    if (out.has(`${name}.graphql`)) throw new Error(`${SOURCE}: two operations named ${name}`);
    out.set(`${name}.graphql`, parts.join('\n'));
  }
  return out;
}

/** What is wrong with docs/operations/ (empty: up to date, each file valid on its own). */
export function checkOperations(): string[] {
  const { files, problems } = prepare();
  const dir = join(root, OUT_DIR);
  for (const [file, content] of files) {
    const path = join(dir, file);
    if (!existsSync(path)) problems.push(`${OUT_DIR}/${file} is missing`);
    else if (readFileSync(path, 'utf8') !== content)
      problems.push(`${OUT_DIR}/${file} is out of date`);
  }
  for (const f of existingFiles()) {
    if (!files.has(f)) problems.push(`${OUT_DIR}/${f} has no operation in ${SOURCE}`);
  }
  return problems;
}

function existingFiles(): string[] {
  const dir = join(root, OUT_DIR);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.graphql')) : [];
}

/** The files to write, and the validation errors of each against schema.gql. */
function prepare(): { files: Map<string, string>; problems: string[] } {
  const files = splitOperations(readFileSync(join(root, SOURCE), 'utf8'));
  const schema = buildSchema(readFileSync(join(root, 'schema.gql'), 'utf8'));
  const problems: string[] = [];
  for (const [file, content] of files) {
    for (const e of validate(schema, parse(content))) {
      problems.push(`${OUT_DIR}/${file}: ${e.message}`);
    }
  }
  return { files, problems };
}

function main(): number {
  if (process.argv.includes('--check')) {
    const problems = checkOperations();
    if (problems.length) {
      console.error(
        `${problems.map((p) => `  - ${p}`).join('\n')}\n(run \`npm run operations\` and commit ${OUT_DIR}/)`,
      );
      return 1;
    }
    console.log(`${OUT_DIR}/: each operation valid on its own, up to date`);
    return 0;
  }
  const { files, problems } = prepare();
  if (problems.length) {
    console.error(problems.join('\n'));
    return 1;
  }
  const dir = join(root, OUT_DIR);
  mkdirSync(dir, { recursive: true });
  for (const f of existingFiles()) if (!files.has(f)) rmSync(join(dir, f));
  for (const [file, content] of files) writeFileSync(join(dir, file), content);
  console.log(`wrote ${files.size} files to ${OUT_DIR}/`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
