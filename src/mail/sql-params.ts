/**
 * Positional parameters for a raw statement built in pieces (a CTE whose
 * parts come from several features): `p.add(value, '::uuid')` returns `$n`
 * with the cast and remembers the value.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}
