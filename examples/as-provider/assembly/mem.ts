// Byte slices and a growable byte buffer over linear memory.
//
// The plugin is built with the stub runtime: a bump allocator with no
// garbage collector. Every export starts by resetting the heap (see
// arena.ts), so nothing allocated here outlives the call that made it, and
// nothing is ever freed one by one.

/** A view of len bytes at ptr: input, or output under construction. */
export class Bytes {
  constructor(public ptr: usize, public len: i32) {}

  at(i: i32): u8 {
    return load<u8>(this.ptr + <usize>i);
  }

  sub(from: i32, to: i32): Bytes {
    return new Bytes(this.ptr + <usize>from, to - from);
  }

  /** Reports whether the bytes equal the ASCII string s. */
  is(s: string): bool {
    const n = s.length;
    if (n != this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<u32>load<u8>(this.ptr + <usize>i) != <u32>s.charCodeAt(i)) return false;
    }
    return true;
  }

  /** Reports whether the bytes start with the ASCII string s. */
  startsWith(s: string): bool {
    const n = s.length;
    if (n > this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<u32>load<u8>(this.ptr + <usize>i) != <u32>s.charCodeAt(i)) return false;
    }
    return true;
  }

  /** Returns the index of the first byte b from start, or -1. */
  indexOf(b: u8, start: i32 = 0): i32 {
    for (let i = start; i < this.len; i++) {
      if (load<u8>(this.ptr + <usize>i) == b) return i;
    }
    return -1;
  }
}

/** A growable byte buffer. */
export class Buf {
  ptr: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;

  constructor(cap: i32 = 256) {
    this.ptr = __alloc(<usize>cap);
    this.cap = cap;
  }

  private grow(extra: i32): void {
    const need = this.len + extra;
    if (need < this.len) unreachable(); // overflow
    if (need <= this.cap) return;
    let cap = this.cap << 1;
    if (cap < need) cap = need;
    // __realloc grows in place when this buffer is the last block.
    this.ptr = __realloc(this.ptr, <usize>cap);
    this.cap = cap;
  }

  byte(b: u8): Buf {
    if (this.len == this.cap) this.grow(1);
    store<u8>(this.ptr + <usize>this.len, b);
    this.len++;
    return this;
  }

  raw(p: usize, n: i32): Buf {
    if (n <= 0) return this;
    this.grow(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
    return this;
  }

  bytes(b: Bytes): Buf {
    return this.raw(b.ptr, b.len);
  }

  /** Appends an ASCII string literal. */
  lit(s: string): Buf {
    const n = s.length;
    this.grow(n);
    for (let i = 0; i < n; i++) {
      store<u8>(this.ptr + <usize>(this.len + i), <u8>s.charCodeAt(i));
    }
    this.len += n;
    return this;
  }

  /** Appends v in decimal. */
  int(v: i64): Buf {
    if (v == 0) return this.byte(0x30);
    let u: u64;
    if (v < 0) {
      this.byte(0x2d);
      u = <u64>(-(v + 1)) + 1; // no overflow at i64.MIN_VALUE
    } else {
      u = <u64>v;
    }
    let digits: i32 = 0;
    for (let t = u; t > 0; t /= 10) digits++;
    this.grow(digits);
    for (let i = digits - 1; i >= 0; i--) {
      store<u8>(this.ptr + <usize>(this.len + i), <u8>(0x30 + <i32>(u % 10)));
      u /= 10;
    }
    this.len += digits;
    return this;
  }

  u32le(v: u32): Buf {
    this.grow(4);
    store<u32>(this.ptr + <usize>this.len, v);
    this.len += 4;
    return this;
  }

  i64le(v: i64): Buf {
    this.grow(8);
    store<i64>(this.ptr + <usize>this.len, v);
    this.len += 8;
    return this;
  }

  view(): Bytes {
    return new Bytes(this.ptr, this.len);
  }
}

/** Copies b into fresh memory (a view into input becomes owned). */
export function copy(b: Bytes): Bytes {
  if (b.len == 0) return new Bytes(0, 0);
  const p = __alloc(<usize>b.len);
  memory.copy(p, b.ptr, <usize>b.len);
  return new Bytes(p, b.len);
}

/** Reports whether a and b hold the same bytes. */
export function same(a: Bytes, b: Bytes): bool {
  if (a.len != b.len) return false;
  return memory.compare(a.ptr, b.ptr, <usize>a.len) == 0;
}
