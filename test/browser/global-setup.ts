import { buildAll, haveChromium } from './support.js';

/** Builds the server and the React example once for every browser test file of the run. */
export default function setup(): void {
  if (haveChromium) buildAll();
}
