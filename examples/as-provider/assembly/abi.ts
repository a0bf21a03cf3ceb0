// The hub's plugin ABI v1 (sdk/ABI.md): records, results, errors, the
// hub_v1 host functions, and the per-call arena behind hub_alloc.

import { Buf, Bytes } from "./mem";
import { writeString } from "./json";

// §5: host functions.
@external("hub_v1", "log")
declare function hostLog(level: i32, ptr: usize, len: i32): void;

@external("hub_v1", "config")
declare function hostConfig(ptr: usize, cap: i32): i32;

/** The plugin's config JSON ([plugins.NAME.config] in hub.toml; "{}" when absent). */
export function config(): Bytes {
  let cap = 256;
  while (true) {
    const p = __alloc(<usize>cap);
    const n = hostConfig(p, cap);
    if (n <= cap) return new Bytes(p, n < 0 ? 0 : n);
    cap = n; // too small: ask again with room for all of it
  }
}

export const LOG_DEBUG: i32 = 0;
export const LOG_INFO: i32 = 1;
export const LOG_WARN: i32 = 2;
export const LOG_ERROR: i32 = 3;

export function log(level: i32, msg: Bytes): void {
  hostLog(level, msg.ptr, msg.len);
}

// ---- §4: memory -----------------------------------------------------------
//
// Every call is self-contained, so the heap is an arena: each export resets
// it. The input buffer handed out by hub_alloc sits at the bottom of the
// arena and is re-reserved, at the same address, by every reset, so it
// stays valid and unchanged until the next hub_alloc (§4 step 1), and the
// host may reuse it for any later input up to its size (§4 step 2). A
// result lives in the arena until the next export call resets it (§4 step
// 3). Memory never grows past one call's peak, however many calls run.

let inPtr: usize = 0;
let inCap: usize = 0;

/** hub_alloc: a fresh arena whose first block is the input buffer. */
export function alloc(size: i32): usize {
  __reset();
  inCap = size > 0 ? <usize>size : 0;
  inPtr = inCap > 0 ? __alloc(inCap) : 0;
  return inPtr;
}

/** Starts an export: a fresh arena that keeps the input buffer. */
export function begin(): void {
  __reset();
  if (inCap > 0 && __alloc(inCap) != inPtr) unreachable();
}

// ---- §3: records ----------------------------------------------------------

/** Reads the fields of a record in order; missing trailing fields are empty. */
export class Reader {
  p: usize;
  end: usize;
  /** Set when a field's length runs past the record's end. */
  bad: bool = false;

  constructor(b: Bytes) {
    this.p = b.ptr;
    this.end = b.ptr + <usize>b.len;
  }

  more(): bool {
    return this.p < this.end;
  }

  field(): Bytes {
    if (this.end - this.p < 4) {
      if (this.p != this.end) this.bad = true; // a partial length
      this.p = this.end;
      return new Bytes(0, 0);
    }
    const n = load<u32>(this.p);
    this.p += 4;
    if (<u64>n > <u64>(this.end - this.p)) {
      this.bad = true;
      this.p = this.end;
      return new Bytes(0, 0);
    }
    const b = new Bytes(this.p, <i32>n);
    this.p += <usize>n;
    return b;
  }

  /** A u32 field: 4 bytes little-endian; empty means 0. */
  u32(): u32 {
    const b = this.field();
    if (b.len == 0) return 0;
    if (b.len != 4) { this.bad = true; return 0; }
    return load<u32>(b.ptr);
  }

  /** A u64 field: 8 bytes little-endian; empty means 0. */
  u64(): u64 {
    const b = this.field();
    if (b.len == 0) return 0;
    if (b.len != 8) { this.bad = true; return 0; }
    return load<u64>(b.ptr);
  }
}

/** Writes a record: each field is a u32le length and the bytes. */
export class Writer {
  buf: Buf;

  constructor(cap: i32 = 512) {
    this.buf = new Buf(cap);
  }

  field(b: Bytes): Writer {
    this.buf.u32le(<u32>b.len).bytes(b);
    return this;
  }

  fieldBuf(b: Buf): Writer {
    return this.field(b.view());
  }

  empty(): Writer {
    this.buf.u32le(0);
    return this;
  }

  u32(v: u32): Writer {
    this.buf.u32le(4).u32le(v);
    return this;
  }

  u64(v: u64): Writer {
    this.buf.u32le(8).i64le(<i64>v);
    return this;
  }
}

/** Usage (§3): input, output, cached, cache_write, reasoning, images. */
export class Usage {
  input: i64 = 0;
  output: i64 = 0;
  cached: i64 = 0;
  cacheWrite: i64 = 0;
  reasoning: i64 = 0;
  images: i64 = 0;

  encode(): Bytes {
    const b = new Buf(48);
    b.i64le(this.input).i64le(this.output).i64le(this.cached)
      .i64le(this.cacheWrite).i64le(this.reasoning).i64le(this.images);
    return b.view();
  }
}

// ---- §4: results ------------------------------------------------------------

const STATUS_OK: u8 = 0;
const STATUS_ERROR: u8 = 1;

function pack(b: Buf): i64 {
  return (<i64>b.ptr << 32) | <i64>(<u32>b.len);
}

/** An OK result: status 0 and the record. */
export function ok(w: Writer): i64 {
  const out = new Buf(w.buf.len + 1);
  out.byte(STATUS_OK).bytes(w.buf.view());
  return pack(out);
}

/** The error JSON object of §4. */
export class HubError {
  status: i32 = 502;
  type: string = "upstream_error";
  code: string = "";
  param: string = "";
  /** The message, as bytes (it may quote the provider). */
  message: Bytes = new Bytes(0, 0);
  retryable: bool = false;
  retryAfterMS: i64 = 0;

  json(): Bytes {
    const b = new Buf(128);
    b.lit("{\"status\":").int(this.status);
    b.lit(",\"type\":").byte(0x22).lit(this.type).byte(0x22);
    if (this.code.length > 0) b.lit(",\"code\":").byte(0x22).lit(this.code).byte(0x22);
    if (this.param.length > 0) b.lit(",\"param\":").byte(0x22).lit(this.param).byte(0x22);
    b.lit(",\"message\":");
    writeString(b, this.message);
    if (this.retryable) b.lit(",\"retryable\":true");
    if (this.retryAfterMS > 0) b.lit(",\"retry_after_ms\":").int(this.retryAfterMS);
    b.byte(0x7d);
    return b.view();
  }
}

/** Makes an error with an ASCII message. */
export function hubError(status: i32, type: string, code: string, param: string, message: string): HubError {
  const e = new HubError();
  e.status = status;
  e.type = type;
  e.code = code;
  e.param = param;
  e.message = new Buf(message.length).lit(message).view();
  return e;
}

/** An ERROR result: status 1 and one field, the error JSON. */
export function fail(e: HubError): i64 {
  const j = e.json();
  const out = new Buf(j.len + 5);
  out.byte(STATUS_ERROR).u32le(<u32>j.len).bytes(j);
  return pack(out);
}

/**
 * The runtime's abort (a failed assertion, an out-of-bounds index): log it
 * at error level, then trap, which the host reports as plugin_failed and
 * answers by replacing the instance (§4 "Traps").
 */
export function onAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const b = new Buf(128);
  b.lit("as-provider abort: ");
  if (message != null) ascii(b, message);
  b.lit(" at ");
  if (fileName != null) ascii(b, fileName);
  b.byte(0x3a).int(line).byte(0x3a).int(column);
  log(LOG_ERROR, b.view());
  unreachable();
}

function ascii(b: Buf, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    b.byte(c < 0x80 ? <u8>c : 0x3f);
  }
}
