import { buildApi, installService } from './support.js';

/** Builds the API (dist/main.mjs) and installs the example from its lockfile, once per run. */
export default function setup(): void {
  buildApi();
  installService();
}
