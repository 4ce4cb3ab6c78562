// Bundles the compiled server (dist/src/main.js, tsc's output with its
// decorator metadata) into one file, dist/main.mjs, which `npm start` runs.
//
// Why: the unbundled build spent ~1.7 s of its start resolving, reading and
// compiling about 2,450 module files (Nest, Apollo, Fastify, graphql-js,
// class-validator, ...); the same start from one file is ~1.2 s shorter
// (docs/benchmark.md, round 4). `node dist/src/main.js` still works.
//
// Kept outside the bundle, loaded from node_modules as usual:
//  - packages that load files next to themselves at run time (PGlite's wasm
//    and data files, bcrypt's native addon, pino's worker-thread transports,
//    Prisma's query compiler);
//  - optional peer packages that Nest and others `require` inside a try/catch
//    and that this app does not install (@nestjs/microservices, ...): the
//    plugin below leaves any package that does not resolve as a plain require,
//    which throws at run time exactly as it would unbundled.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const external = [
  '@electric-sql/pglite',
  'bcrypt',
  '@prisma/client',
  'pino',
  'pino-pretty',
  'thread-stream',
];

const unresolved = new Set();
/** Bare imports that do not resolve from the package that makes them stay external. */
const unresolvedStayExternal = {
  name: 'unresolved-stay-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      try {
        createRequire(args.importer || join(root, 'package.json')).resolve(args.path);
        return undefined;
      } catch {
        unresolved.add(args.path);
        return { path: args.path, external: true };
      }
    });
  },
};

/**
 * @apollo/utils.createhash is replaced by node:crypto's createHash
 * (scripts/bundle-shims/apollo-createhash.mjs): it calls
 * `module.require('crypto')` on every hash, i.e. once per request for the
 * query's hash, and inside a bundle it would use a JavaScript SHA-256 instead
 * (seen in the `me` profile as Sha256._update, then as Module._load when it
 * was left in node_modules).
 */
const shims = {
  name: 'shims',
  setup(b) {
    b.onResolve({ filter: /^@apollo\/utils\.createhash$/ }, () => ({
      path: join(root, 'scripts/bundle-shims/apollo-createhash.mjs'),
    }));
  },
};

const result = await build({
  entryPoints: [join(root, 'dist/src/main.js')],
  outfile: join(root, 'dist/main.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // GraphQL type names and Nest's tokens come from class names: keep them.
  keepNames: true,
  sourcemap: true,
  external,
  plugins: [shims, unresolvedStayExternal],
  // CommonJS packages inside an ES module bundle still call require().
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
// keepNames: esbuild renames top-level names that collide once every module
// shares one scope (our `User` class would become `User2`, and with it the
// GraphQL type), and keepNames restores them with a `__name(x, 'x')` call per
// named class and function. For classes that runs once, in a static block. For
// functions it runs each time the function is created, and Fastify, Apollo
// and Nest create closures on every request: in the `me` benchmark the bundle
// used ~35 % more CPU per request than the unbundled build, ~25 µs of it in
// `__name` (`bench/profile.mjs me`). Only class names matter here (GraphQL
// type names, Nest's tokens and log contexts), so function sites get a helper
// that does nothing: a function keeps the name esbuild gave it, as without
// keepNames.
const NAME_HELPER =
  'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
const outFile = join(root, 'dist/main.mjs');
let code = readFileSync(outFile, 'utf8');
if (code.split(NAME_HELPER).length !== 2) throw new Error(`esbuild's __name helper changed`);
let classSites = 0;
code = code.replace(/(static \{\s*)__name\(this, /g, (_, head) => {
  classSites++;
  return `${head}__nameClass(this, `;
});
if (classSites === 0) throw new Error('no class name sites found: has esbuild changed?');
code = code.replace(
  NAME_HELPER,
  `${NAME_HELPER.replace('__name', '__nameClass')}\nvar __name = (target) => target;`,
);
writeFileSync(outFile, code);

// What went into the bundle, by file and size (e.g. for esbuild's analyzer).
writeFileSync(join(root, 'dist/main.meta.json'), JSON.stringify(result.metafile));
// Quiet by default: the optional packages left out are expected (this app
// does not use them), and a list of "not installed" names on every start read
// like a missing dependency. `node scripts/bundle.mjs --verbose` shows them.
if (process.argv.includes('--verbose')) {
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(
    `dist/main.mjs: ${inputs} modules in one file; optional packages this app does not install, left out: ${[...unresolved].sort().join(', ')}`,
  );
}
