// A small, strict JSON reader and writer over bytes (RFC 8259).
//
// The reader builds a tree of JValue over the input: strings without
// escapes and numbers are views into the input (valid for the call); a
// string with escapes is decoded into fresh memory. It rejects what
// RFC 8259 rejects (control characters in strings, bad escapes, leading
// zeros, trailing commas, trailing garbage) and nesting deeper than
// MAX_DEPTH, so adversarial input ends in a clear error, never a trap.
//
// The writer escapes strings and replaces invalid UTF-8 with U+FFFD, so
// its output is always valid JSON in valid UTF-8 whatever the input was.

import { Buf, Bytes } from "./mem";

export const J_NULL: u8 = 0;
export const J_FALSE: u8 = 1;
export const J_TRUE: u8 = 2;
export const J_NUM: u8 = 3;
export const J_STR: u8 = 4;
export const J_ARR: u8 = 5;
export const J_OBJ: u8 = 6;

/** The deepest nesting of arrays and objects the reader accepts. */
export const MAX_DEPTH: i32 = 64;

/** A parsed JSON value. */
export class JValue {
  /** For J_STR the decoded bytes; for J_NUM the number's text. */
  str: Bytes = new Bytes(0, 0);
  /** Object keys (decoded), in document order. */
  keys: Array<Bytes> | null = null;
  /** Array items or object values, in document order. */
  vals: Array<JValue> | null = null;

  constructor(public kind: u8) {}

  isStr(): bool { return this.kind == J_STR; }
  isNum(): bool { return this.kind == J_NUM; }
  isArr(): bool { return this.kind == J_ARR; }
  isObj(): bool { return this.kind == J_OBJ; }
  isNull(): bool { return this.kind == J_NULL; }
  isBool(): bool { return this.kind == J_TRUE || this.kind == J_FALSE; }

  /** The number of items or members; 0 for scalars. */
  count(): i32 {
    const v = this.vals;
    return v == null ? 0 : v.length;
  }

  item(i: i32): JValue {
    return (this.vals as Array<JValue>)[i];
  }

  /** The value of the last member named key (as JSON parsers in Go and JS pick it), or null. */
  get(key: string): JValue | null {
    if (this.kind != J_OBJ) return null;
    const keys = this.keys as Array<Bytes>;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (keys[i].is(key)) return (this.vals as Array<JValue>)[i];
    }
    return null;
  }

  /** The string member key, or null when absent or not a string. */
  getStr(key: string): Bytes | null {
    const v = this.get(key);
    if (v == null || v.kind != J_STR) return null;
    return v.str;
  }
}

/** Parses a whole JSON document; returns null when it is not valid JSON. */
export function parse(b: Bytes): JValue | null {
  const p = new Parser(b);
  p.ws();
  const v = p.value(0);
  if (v == null) return null;
  p.ws();
  if (p.pos != p.end) return null;
  return v;
}

class Parser {
  pos: usize;
  end: usize;

  constructor(b: Bytes) {
    this.pos = b.ptr;
    this.end = b.ptr + <usize>b.len;
  }

  ws(): void {
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return;
      this.pos++;
    }
  }

  peek(): i32 {
    return this.pos < this.end ? <i32>load<u8>(this.pos) : -1;
  }

  lit(s: string, kind: u8): JValue | null {
    const n = <usize>s.length;
    if (this.end - this.pos < n) return null;
    for (let i: usize = 0; i < n; i++) {
      if (<u32>load<u8>(this.pos + i) != <u32>s.charCodeAt(<i32>i)) return null;
    }
    this.pos += n;
    return new JValue(kind);
  }

  value(depth: i32): JValue | null {
    switch (this.peek()) {
      case 0x7b: return this.object(depth + 1); // {
      case 0x5b: return this.array(depth + 1); // [
      case 0x22: return this.string(); // "
      case 0x74: return this.lit("true", J_TRUE);
      case 0x66: return this.lit("false", J_FALSE);
      case 0x6e: return this.lit("null", J_NULL);
      default: return this.number();
    }
  }

  object(depth: i32): JValue | null {
    if (depth > MAX_DEPTH) return null;
    this.pos++; // {
    const v = new JValue(J_OBJ);
    const keys = new Array<Bytes>();
    const vals = new Array<JValue>();
    v.keys = keys;
    v.vals = vals;
    this.ws();
    if (this.peek() == 0x7d) { this.pos++; return v; }
    while (true) {
      if (this.peek() != 0x22) return null;
      const k = this.string();
      if (k == null) return null;
      this.ws();
      if (this.peek() != 0x3a) return null; // :
      this.pos++;
      this.ws();
      const m = this.value(depth);
      if (m == null) return null;
      keys.push(k.str);
      vals.push(m);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return v; // }
      if (c != 0x2c) return null; // ,
      this.ws();
    }
  }

  array(depth: i32): JValue | null {
    if (depth > MAX_DEPTH) return null;
    this.pos++; // [
    const v = new JValue(J_ARR);
    const vals = new Array<JValue>();
    v.vals = vals;
    this.ws();
    if (this.peek() == 0x5d) { this.pos++; return v; }
    while (true) {
      const m = this.value(depth);
      if (m == null) return null;
      vals.push(m);
      this.ws();
      const c = this.peek();
      this.pos++;
      if (c == 0x5d) return v; // ]
      if (c != 0x2c) return null;
      this.ws();
    }
  }

  string(): JValue | null {
    this.pos++; // "
    const start = this.pos;
    let escaped = false;
    // First pass: find the end and check the escapes' syntax. Runs of
    // plain bytes are skipped eight at a time.
    while (true) {
      while (this.end - this.pos >= 8 && !stringStop(load<u64>(this.pos))) this.pos += 8;
      if (this.pos >= this.end) return null;
      const c = load<u8>(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) return null;
      if (c == 0x5c) {
        escaped = true;
        if (this.pos + 1 >= this.end) return null;
        const e = load<u8>(this.pos + 1);
        if (e == 0x75) { // u
          if (this.end - this.pos < 6) return null;
          for (let i: usize = 2; i < 6; i++) {
            if (hex(load<u8>(this.pos + i)) < 0) return null;
          }
          this.pos += 6;
          continue;
        }
        if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) return null;
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    const stop = this.pos;
    this.pos++; // closing "
    const v = new JValue(J_STR);
    if (!escaped) {
      v.str = new Bytes(start, <i32>(stop - start));
      return v;
    }
    v.str = unescape(start, stop);
    return v;
  }

  number(): JValue | null {
    const start = this.pos;
    if (this.peek() == 0x2d) this.pos++; // -
    const first = this.peek();
    if (first == 0x30) {
      this.pos++;
    } else if (first >= 0x31 && first <= 0x39) {
      while (isDigit(this.peek())) this.pos++;
    } else {
      return null;
    }
    if (this.peek() == 0x2e) { // .
      this.pos++;
      if (!isDigit(this.peek())) return null;
      while (isDigit(this.peek())) this.pos++;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const s = this.peek();
      if (s == 0x2b || s == 0x2d) this.pos++;
      if (!isDigit(this.peek())) return null;
      while (isDigit(this.peek())) this.pos++;
    }
    const v = new JValue(J_NUM);
    v.str = new Bytes(start, <i32>(this.pos - start));
    return v;
  }
}

// SWAR (SIMD within a register) tests on eight bytes at once. Each may
// report a byte that is not there, next to one that is (a borrow), never
// miss one: callers then look at the bytes one by one.
const ONES: u64 = 0x0101010101010101;
const HIGH: u64 = 0x8080808080808080;

// @ts-ignore: decorator
@inline function hasByte(v: u64, b: u64): bool {
  const x = v ^ (ONES * b);
  return ((x - ONES) & ~x & HIGH) != 0;
}

// @ts-ignore: decorator
@inline function hasControl(v: u64): bool {
  return ((v - ONES * 0x20) & ~v & HIGH) != 0;
}

/** Reports whether eight bytes may hold a quote, a backslash or a control byte. */
// @ts-ignore: decorator
@inline function stringStop(v: u64): bool {
  return hasByte(v, 0x22) || hasByte(v, 0x5c) || hasControl(v);
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hex(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  return -1;
}

function hex4(p: usize): i32 {
  return (hex(load<u8>(p)) << 12) | (hex(load<u8>(p + 1)) << 8) | (hex(load<u8>(p + 2)) << 4) | hex(load<u8>(p + 3));
}

/** Decodes the escapes of an already checked string body [p, end). */
function unescape(p: usize, end: usize): Bytes {
  const out = new Buf(<i32>(end - p));
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x5c) { out.byte(c); p++; continue; }
    const e = load<u8>(p + 1);
    p += 2;
    switch (e) {
      case 0x62: out.byte(0x08); break;
      case 0x66: out.byte(0x0c); break;
      case 0x6e: out.byte(0x0a); break;
      case 0x72: out.byte(0x0d); break;
      case 0x74: out.byte(0x09); break;
      case 0x75: {
        let cp = hex4(p);
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          // A high surrogate pairs with a following \uDC00–\uDFFF.
          if (p + 6 <= end && load<u8>(p) == 0x5c && load<u8>(p + 1) == 0x75) {
            const lo = hex4(p + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            } else {
              cp = 0xfffd;
            }
          } else {
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          cp = 0xfffd; // a lone low surrogate
        }
        utf8(out, cp);
        break;
      }
      default: out.byte(e); // " \ /
    }
  }
  return out.view();
}

/** Appends code point cp as UTF-8. */
export function utf8(out: Buf, cp: i32): void {
  if (cp < 0x80) {
    out.byte(<u8>cp);
  } else if (cp < 0x800) {
    out.byte(<u8>(0xc0 | (cp >> 6))).byte(<u8>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.byte(<u8>(0xe0 | (cp >> 12))).byte(<u8>(0x80 | ((cp >> 6) & 0x3f))).byte(<u8>(0x80 | (cp & 0x3f)));
  } else {
    out.byte(<u8>(0xf0 | (cp >> 18))).byte(<u8>(0x80 | ((cp >> 12) & 0x3f)))
      .byte(<u8>(0x80 | ((cp >> 6) & 0x3f))).byte(<u8>(0x80 | (cp & 0x3f)));
  }
}

/**
 * Returns the length of the valid UTF-8 sequence at p (at most end), or 0
 * when the bytes there are not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included).
 */
function seqLen(p: usize, end: usize): i32 {
  const c = load<u8>(p);
  let n: i32;
  let lo: u8 = 0x80;
  let hi: u8 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (end - p < <usize>n) return 0;
  const c1 = load<u8>(p + 1);
  if (c1 < lo || c1 > hi) return 0;
  for (let i = 2; i < n; i++) {
    const ci = load<u8>(p + <usize>i);
    if (ci < 0x80 || ci > 0xbf) return 0;
  }
  return n;
}

const HEX = "0123456789abcdef";

/** Appends b as a JSON string literal. */
export function writeString(out: Buf, b: Bytes): void {
  out.byte(0x22);
  let p = b.ptr;
  const end = b.ptr + <usize>b.len;
  while (p < end) {
    // Copy runs of plain ASCII (no quote, backslash or control byte) eight
    // bytes at a time.
    const run = p;
    while (end - p >= 8) {
      const v = load<u64>(p);
      if ((v & HIGH) != 0 || stringStop(v)) break;
      p += 8;
    }
    if (p > run) {
      out.raw(run, <i32>(p - run));
      if (p >= end) break;
    }
    const c = load<u8>(p);
    if (c >= 0x80) {
      const n = seqLen(p, end);
      if (n == 0) {
        out.lit("\\ufffd");
        p++;
      } else {
        out.raw(p, n);
        p += <usize>n;
      }
      continue;
    }
    p++;
    if (c == 0x22) out.lit("\\\"");
    else if (c == 0x5c) out.lit("\\\\");
    else if (c >= 0x20) out.byte(c);
    else if (c == 0x0a) out.lit("\\n");
    else if (c == 0x0d) out.lit("\\r");
    else if (c == 0x09) out.lit("\\t");
    else {
      out.lit("\\u00");
      out.byte(<u8>HEX.charCodeAt(c >> 4)).byte(<u8>HEX.charCodeAt(c & 15));
    }
  }
  out.byte(0x22);
}

/** Appends v compactly. Strings are re-escaped, numbers copied as written. */
export function writeValue(out: Buf, v: JValue): void {
  switch (v.kind) {
    case J_NULL: out.lit("null"); break;
    case J_FALSE: out.lit("false"); break;
    case J_TRUE: out.lit("true"); break;
    case J_NUM: out.bytes(v.str); break;
    case J_STR: writeString(out, v.str); break;
    case J_ARR: {
      out.byte(0x5b);
      for (let i = 0; i < v.count(); i++) {
        if (i > 0) out.byte(0x2c);
        writeValue(out, v.item(i));
      }
      out.byte(0x5d);
      break;
    }
    default: {
      const keys = v.keys as Array<Bytes>;
      out.byte(0x7b);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.byte(0x2c);
        writeString(out, keys[i]);
        out.byte(0x3a);
        writeValue(out, v.item(i));
      }
      out.byte(0x7d);
    }
  }
}

/**
 * Reads a JSON number as a count: its integer part, clamped to
 * [0, i64 max]; exponents are applied. Not a number: 0.
 */
export function toCount(v: JValue | null): i64 {
  if (v == null || v.kind != J_NUM) return 0;
  const s = v.str;
  if (s.len == 0 || s.at(0) == 0x2d) return 0;
  let i = 0;
  let n: i64 = 0;
  let saturated = false;
  while (i < s.len && isDigit(<i32>s.at(i))) {
    const d = <i64>(s.at(i) - 0x30);
    if (n > (i64.MAX_VALUE - d) / 10) saturated = true;
    else n = n * 10 + d;
    i++;
  }
  let frac = new Buf(8);
  if (i < s.len && s.at(i) == 0x2e) {
    i++;
    while (i < s.len && isDigit(<i32>s.at(i))) { frac.byte(s.at(i)); i++; }
  }
  if (i < s.len && (s.at(i) == 0x65 || s.at(i) == 0x45)) {
    i++;
    let neg = false;
    if (s.at(i) == 0x2d) { neg = true; i++; } else if (s.at(i) == 0x2b) i++;
    let e: i32 = 0;
    while (i < s.len) { if (e < 10000) e = e * 10 + <i32>(s.at(i) - 0x30); i++; }
    if (neg) {
      for (let k = 0; k < e && n > 0; k++) n /= 10;
    } else {
      for (let k = 0; k < e && !saturated; k++) {
        const d: i64 = k < frac.len ? <i64>(load<u8>(frac.ptr + <usize>k) - 0x30) : 0;
        if (n > (i64.MAX_VALUE - d) / 10) saturated = true;
        else n = n * 10 + d;
      }
    }
  }
  return saturated ? i64.MAX_VALUE : n;
}
