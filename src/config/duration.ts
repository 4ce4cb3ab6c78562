/** Parses `900` (seconds), `15m`, `2s`, `7d`, `12h`, `500ms` into milliseconds. */
export function parseDuration(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  const ms = Math.round(n * factor);
  return Number.isFinite(ms) ? ms : null;
}
