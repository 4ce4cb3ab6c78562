// One runGraphql (bench/lib/load.mjs) in a process of its own, for a load
// that must not share the event loop of the one being timed beside it
// (runGraphqlInChild): options in BENCH_LOAD (JSON), its summary on stdout.
import { runGraphql } from './load.mjs';

process.stdout.write(`${JSON.stringify(await runGraphql(JSON.parse(process.env.BENCH_LOAD)))}\n`);
