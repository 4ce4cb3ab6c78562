import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/prisma.js';
import { RetentionJob, type RetentionResult } from './retention.job.js';

/**
 * Runs the retention cleanup (retention.job.ts) every RETENTION_INTERVAL,
 * the first time one interval after the start; 0 turns the schedule off
 * (then run `npm run cleanup` from a scheduler of your own). Several
 * instances may all schedule it: one at a time does the work.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private readonly job: RetentionJob;
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionResult | null>;

  constructor(
    private readonly config: AppConfig,
    @Inject(DATABASE) db: Database,
  ) {
    this.job = new RetentionJob(db, config.env, { log: (line) => this.logger.log(line) });
  }

  onApplicationBootstrap(): void {
    const every = this.config.env.RETENTION_INTERVAL;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), every);
    this.timer.unref();
  }

  /**
   * One run (not two at once in this process). A scheduled run works off at
   * most 200 batches per table; the rest waits for the next run. A failure
   * (the database away) is logged, and the next run tries again.
   */
  runOnce(
    opts: { maxBatchesPerRule?: number; now?: number } = {},
  ): Promise<RetentionResult | null> {
    this.running ??= this.job
      .run({ maxBatchesPerRule: 200, ...opts })
      .catch((e: unknown) => {
        this.logger.warn({ event: 'retention_failed', message: (e as Error)?.message });
        return null;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Before the database closes: no new run, and the current one stops after its batch. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.job.stop();
    await this.running;
  }
}
