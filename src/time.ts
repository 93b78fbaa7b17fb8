/** Time as the server sees it: integer microseconds since the Unix epoch (safe in a JS number until year 2255). */
export interface Clock {
  nowUs(): number;
}

/** The machine's clock, with microsecond resolution from the high-resolution timer. */
export class SystemClock implements Clock {
  nowUs(): number {
    return Math.floor((performance.timeOrigin + performance.now()) * 1000);
  }
}

/** `0001-01-01T00:00:00Z`: how Graph shows a non-nullable DateTimeOffset that was never set. */
export const MIN_DATE_TIME = '0001-01-01T00:00:00Z';

/** `0001-01-01T00:00:00Z` in microseconds (exactly representable as a double). */
export const MIN_US = Date.parse('0001-01-01T00:00:00Z') * 1000;

/** ISO 8601 UTC with 7 fractional digits, as Graph writes DateTimeOffset values; the minimum as `0001-01-01T00:00:00Z`. */
export function formatUs(us: number): string {
  if (us <= MIN_US) return MIN_DATE_TIME;
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2026-11-29T08:00:00.123Z
  const micro = us - ms * 1000;
  return `${iso.slice(0, 23)}${String(micro).padStart(3, '0')}0Z`;
}

/** Parses an ISO 8601 date-time with offset into microseconds; undefined when malformed. */
export function parseIsoToUs(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone] = m;
  const base = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone!.toUpperCase() === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(base)) return undefined;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1) return undefined;
  const micros = Number(frac.padEnd(7, '0').slice(0, 6));
  return base * 1000 + micros;
}
