// Credits are int64 micro-credits in the API (1 credit = 1,000,000
// micro-credits). Everything here is integer or string arithmetic: money
// never passes through a float.

export const MICRO = 1_000_000n;

/** toBig converts an API amount (a JSON integer or a decimal string of micro-credits) to a bigint. */
export function toBig(v: number | bigint | string | null | undefined): bigint {
  if (v === null || v === undefined || v === '') return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`not an integer amount: ${v}`);
    return BigInt(v);
  }
  return BigInt(v);
}

/** formatMicro shows micro-credits as decimal credits: 1500000 → "1.5", -1 → "-0.000001". */
export function formatMicro(v: number | bigint | string | null | undefined): string {
  const n = toBig(v);
  const neg = n < 0n;
  const u = neg ? -n : n;
  const whole = u / MICRO;
  const frac = u % MICRO;
  let s = groupThousands(whole.toString());
  if (frac !== 0n) s += '.' + frac.toString().padStart(6, '0').replace(/0+$/, '');
  return (neg ? '-' : '') + s;
}

/** formatCreditsString groups the thousands of a decimal credits string from the API ("12345.5" → "12,345.5"). */
export function formatCreditsString(s: string | undefined | null): string {
  if (!s) return '0';
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  return m[1] + groupThousands(m[2]) + (m[3] ?? '');
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * parseCredits converts decimal credits typed by a person ("12.5", "0.000001",
 * "1,000") to micro-credits, exactly. It throws on anything else: more than
 * six decimals, a sign when signed is false, not a number, or out of int64.
 */
export function parseCredits(input: string, signed = false): bigint {
  const s = input.trim().replace(/[,_\s]/g, '');
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error('invalid');
  if (m[1] === '-' && !signed) throw new Error('negative');
  const frac = m[3] ?? '';
  if (frac.length > 6) throw new Error('precision');
  const v = BigInt(m[2] || '0') * MICRO + BigInt(frac.padEnd(6, '0') || '0');
  const out = m[1] === '-' ? -v : v;
  if (out > 9223372036854775807n || out < -9223372036854775808n) throw new Error('range');
  return out;
}

/** jsonInt makes a bigint a JSON-safe number, refusing what a number cannot hold exactly. */
export function jsonInt(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error('range');
  return Number(v);
}

/** ratio formats a/b as a percentage with one decimal; "–" when b is 0. */
export function percent(a: number, b: number): string {
  if (!b) return '–';
  return (Math.round((a * 1000) / b) / 10).toFixed(1) + '%';
}
