import {
  Global,
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Database } from './prisma.js';
import { Transactions } from './transactions.js';

export const DATABASE = Symbol('DATABASE');

/**
 * Provides the opened Database (and its PrismaClient) to every feature module
 * and closes it when the app shuts down. The database is opened, and migrated,
 * before the Nest app is created (see src/app.factory.ts).
 */
@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  static forRoot(db: Database): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE, useValue: db },
        { provide: PrismaClient, useValue: db.prisma },
        Transactions,
      ],
      exports: [DATABASE, PrismaClient, Transactions],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
