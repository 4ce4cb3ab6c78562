// Reads a V8 .cpuprofile and sums self time by function and by package/file.
import { readFileSync } from 'node:fs';

/** Where a frame lives: a package in node_modules, node's internals, or the app. */
export function owner(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node:internal';
  const u = url.replace(/^file:\/\//, '');
  const i = u.lastIndexOf('/node_modules/');
  if (i >= 0) {
    const rest = u.slice(i + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const d = u.indexOf('/dist/');
  if (d >= 0) return `app: ${u.slice(d + 1)}`;
  return u;
}

function shortUrl(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const i = u.lastIndexOf('/node_modules/');
  if (i >= 0) return u.slice(i + '/node_modules/'.length);
  const d = u.indexOf('/dist/');
  return d >= 0 ? u.slice(d + 1) : u;
}

export function analyse(file, top = 30) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const fn = new Map();
  const pkg = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const name = cf.functionName || '(anonymous)';
    const key = cf.url ? `${name}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : name;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const o = ['(garbage collector)', '(program)'].includes(name) ? name : owner(cf.url);
    pkg.set(o, (pkg.get(o) ?? 0) + us);
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({
        frame: k,
        selfMs: Math.round(us / 1000),
        pct: Number(((100 * us) / total).toFixed(1)),
      }));
  return {
    busyMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    topFunctions: rank(fn),
    byPackage: rank(pkg),
  };
}
