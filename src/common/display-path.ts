import { isAbsolute, relative } from 'node:path';

/** A path under the working directory as a person typed it (`.data`), anything else absolute. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
