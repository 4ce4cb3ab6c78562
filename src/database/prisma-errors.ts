/** Prisma's "unique constraint failed" error, without importing its runtime classes. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'P2002';
}
