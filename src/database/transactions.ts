import { Injectable } from '@nestjs/common';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Prisma } from '../generated/prisma/client.js';

/**
 * Runs a unit of work in one database transaction: the services' way to
 * write a change and the security event that records it together. The
 * repositories' methods take the transaction (`Db`) as their first argument.
 * On the embedded PGlite transactions run one at a time: inside `run`, use
 * only the `tx` given, never the outer client (it would wait for this one).
 */
@Injectable()
export class Transactions {
  constructor(private readonly prisma: PrismaClient) {}

  run<T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { maxWait: 10_000, timeout: 15_000 });
  }
}
