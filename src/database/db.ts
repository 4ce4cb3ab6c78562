import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

/**
 * What a repository method writes through: the Prisma client, or the
 * transaction of the caller (`prisma.$transaction(async (tx) => ...)`), so
 * that a change and the security event that records it commit together.
 */
export type Db = PrismaClient | Prisma.TransactionClient;
