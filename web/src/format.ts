// Display formatting of numbers, times and durations (never money: see money.ts).

export function fmtInt(n: number | undefined | null, locale: string): string {
  return (n ?? 0).toLocaleString(locale, { maximumFractionDigits: 0 });
}

/** fmtCompact: 1234567 → "1.2M" (for chart axes and cards). */
export function fmtCompact(n: number, locale: string): string {
  return n.toLocaleString(locale, { notation: 'compact', maximumFractionDigits: 1 });
}

export function fmtMs(ms: number | undefined | null): string {
  const v = ms ?? 0;
  if (v >= 10_000) return (v / 1000).toFixed(1) + ' s';
  if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
  if (v >= 100) return Math.round(v) + ' ms';
  return v.toFixed(1) + ' ms';
}

export function fmtTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** fmtTableTime is a compact time for tables: the year only when it is not this one. */
export function fmtTableTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(locale, {
    year: sameYear ? undefined : 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
}

export function fmtShortTime(d: Date, locale: string, withDay: boolean): string {
  return withDay
    ? d.toLocaleDateString(locale, { month: 'short', day: 'numeric' })
    : d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', hour12: false });
}

/** toLocalInput renders a Date for <input type="datetime-local">. */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** fromLocalInput reads <input type="datetime-local"> as an RFC 3339 UTC time; "" stays "". */
export function fromLocalInput(s: string): string {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** delta is the change from prev to cur as a signed percentage, or null when prev is 0. */
export function delta(cur: number, prev: number): number | null {
  if (!prev) return null;
  return ((cur - prev) / prev) * 100;
}
