import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The threads bcrypt runs on: `size` worker threads, each running one hash
 * at a time with bcrypt's synchronous API, at a lower scheduling priority
 * than the rest of the process (`nice`, Linux only).
 *
 * Why not bcrypt's own async API: that runs on libuv's thread pool, at the
 * priority of the event loop, so a flood of logins keeps a core busy that
 * `me`, refreshes and PostgreSQL then have to share. A niced thread still
 * uses every idle cycle, and gives way at once when anything else wants the
 * core. On Linux `setpriority(PRIO_PROCESS, 0)` sets the calling thread's
 * nice value (not the whole process's); elsewhere it would lower the whole
 * process, so it is only done on Linux.
 *
 * The worker's code is given inline (eval) rather than as a file: the server
 * runs from a bundle (dist/main.mjs), the CLIs from tsc's output and the
 * tests from the TypeScript sources, and an inline worker is the same in all
 * three. bcrypt is loaded in the worker by the path this module resolves.
 * HashQueue decides what runs when; this pool never holds more jobs than it
 * has threads (it queues the rare extra one rather than fail).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcrypt);
if (workerData.nice > 0) require('node:os').setPriority(workerData.nice);
parentPort.on('message', (m) => {
  try {
    const value = m.op === 'hash' ? bcrypt.hashSync(m.input, m.rounds) : bcrypt.compareSync(m.input, m.hash);
    parentPort.postMessage({ id: m.id, value });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

type Request =
  { op: 'hash'; input: string; rounds: number } | { op: 'compare'; input: string; hash: string };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The job it runs, if any. */
  job: number | undefined;
}

const bcryptPath = createRequire(import.meta.url).resolve('bcrypt');

export class BcryptPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly backlog: { id: number; req: Request }[] = [];
  private nextId = 1;
  private closed = false;
  /** The nice value the threads run at (0 when not lowered). */
  readonly nice: number;

  constructor(
    private readonly size: number,
    nice: number,
  ) {
    this.nice = process.platform === 'linux' ? nice : 0;
  }

  hash(input: string, rounds: number): Promise<string> {
    return this.submit({ op: 'hash', input, rounds }) as Promise<string>;
  }

  compare(input: string, hash: string): Promise<boolean> {
    return this.submit({ op: 'compare', input, hash }) as Promise<boolean>;
  }

  /** Ends the threads; a job still running is refused. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const p of this.pending.values()) p.reject(new Error('password hashing stopped'));
    this.pending.clear();
    this.backlog.length = 0;
  }

  private submit(req: Request): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('password hashing stopped'));
    const id = this.nextId++;
    const done = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const slot = this.idleSlot();
    if (slot) this.dispatch(slot, id, req);
    else this.backlog.push({ id, req });
    return done;
  }

  private idleSlot(): Slot | undefined {
    const idle = this.slots.find((s) => s.job === undefined);
    if (idle) return idle;
    if (this.slots.length >= this.size) return undefined;
    return this.spawn();
  }

  private dispatch(slot: Slot, id: number, req: Request): void {
    slot.job = id;
    // A thread with a job keeps the process alive (a CLI awaiting a hash); an idle one does not.
    slot.worker.ref();
    slot.worker.postMessage({ id, ...req });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcrypt: bcryptPath, nice: this.nice },
    });
    worker.unref();
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (m: { id: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      slot.job = undefined;
      worker.unref();
      if (p) {
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.value);
      }
      this.drain(slot);
    });
    // A thread that died takes its job with it; the next job gets a new thread.
    const died = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return; // 'error' and then 'exit': once is enough
      this.slots.splice(i, 1);
      if (slot.job !== undefined) {
        this.pending.get(slot.job)?.reject(e);
        this.pending.delete(slot.job);
        slot.job = undefined;
      }
      const next = this.backlog.shift();
      if (next && !this.closed) this.dispatch(this.idleSlot()!, next.id, next.req);
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      if (!this.closed) died(new Error(`password hashing thread exited (${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  private drain(slot: Slot): void {
    const next = this.backlog.shift();
    if (next) this.dispatch(slot, next.id, next.req);
  }
}
