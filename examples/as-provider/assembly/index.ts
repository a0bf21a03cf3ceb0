// as-ollama: an AIGNE Hub provider plugin for Ollama's native chat API,
// written in AssemblyScript from sdk/ABI.md alone. This file holds the
// exports of ABI v1 (§2) and the record decoding of each call; ollama.ts
// holds the mapping, json.ts the JSON codec, abi.ts the memory and result
// conventions.

import { Buf, Bytes } from "./mem";
import { HubError, Reader, Usage, Writer, alloc, begin, config, fail, hubError, ok } from "./abi";
import { State, configHeaders, mapEvents, mapRequest, mapResponse, upstreamError } from "./ollama";

// The manifest (§6). Ollama needs no key locally; a hosted one takes a
// bearer token, which the host adds when the provider has a credential.
const MANIFEST = "{\"abi\":1,\"kind\":\"provider\",\"name\":\"as-ollama\",\"version\":\"0.1.0\"," +
  "\"apis\":[\"chat.completions\",\"models\"],\"auth\":\"bearer\",\"stream_framing\":\"ndjson\"," +
  "\"config_schema\":{\"type\":\"object\",\"properties\":{\"headers\":{\"type\":\"object\"," +
  "\"additionalProperties\":{\"type\":\"string\"}}},\"additionalProperties\":false},\"capabilities\":[]," +
  "\"description\":\"Ollama's native /api/chat and /api/tags, in AssemblyScript (examples/as-provider)\"}";

const FLAG_STREAM: u32 = 1;
const FLAG_INCLUDE_USAGE: u32 = 2;
const STREAM_DONE: u32 = 1;

/** Marks the module as implementing ABI v1. */
export function hub_abi_v1(): void {}

/** Returns size writable bytes for the next input (§4). */
export function hub_alloc(size: i32): usize {
  return alloc(size);
}

/** Returns the manifest JSON as a one-field record. */
export function hub_describe(): i64 {
  begin();
  return ok(new Writer(MANIFEST.length + 8).field(new Buf(MANIFEST.length).lit(MANIFEST).view()));
}

function badInput(what: string): i64 {
  return fail(hubError(500, "plugin_error", "bad_input", "", "as-ollama: malformed " + what + " record"));
}

/** RequestIn → RequestOut. */
export function hub_request(ptr: usize, len: i32): i64 {
  begin();
  const r = new Reader(new Bytes(ptr, len));
  const api = r.field();
  const model = r.field();
  const flags = r.u32();
  const requestID = r.field();
  const body = r.field();
  r.field(); // provider: one behaviour for every provider
  const options = r.field();
  const unixMS = r.u64();
  if (r.bad) return badInput("RequestIn");

  const m = mapRequest(api, model, (flags & FLAG_STREAM) != 0, (flags & FLAG_INCLUDE_USAGE) != 0,
    requestID, body, options, unixMS);
  if (m.err != null) return fail(m.err as HubError);
  const headers = new Buf(128);
  if (m.body.len > 0) headers.lit("Content-Type: application/json\n");
  const e = configHeaders(config(), headers);
  if (e != null) return fail(e);
  const w = new Writer(m.body.len + 128);
  w.field(new Buf(8).lit(m.method).view());
  w.field(new Buf(16).lit(m.path).view());
  w.fieldBuf(headers);
  w.field(m.body);
  const state = new Writer(64 + requestID.len + model.len);
  m.state.encode(state);
  w.fieldBuf(state.buf);
  return ok(w);
}

/** ResponseIn → ResponseOut: the whole body, or the normalized error of a non-2xx. */
export function hub_response(ptr: usize, len: i32): i64 {
  begin();
  const r = new Reader(new Bytes(ptr, len));
  const st = State.decode(r.field());
  const status = r.u32();
  const headers = r.field();
  const body = r.field();
  if (r.bad || st == null) return badInput("ResponseIn");
  if (status < 200 || status > 299) return fail(upstreamError(status, headers, body));
  const o = mapResponse(st as State, body);
  if (o.err != null) return fail(o.err as HubError);
  const w = new Writer(o.body.len + 64);
  w.field(o.body);
  if (o.usage != null) w.field((o.usage as Usage).encode());
  else w.empty();
  return ok(w);
}

/** StreamIn → StreamOut: the events of a batch, in order. */
export function hub_stream_event(ptr: usize, len: i32): i64 {
  begin();
  const r = new Reader(new Bytes(ptr, len));
  const st = State.decode(r.field());
  const events = r.field();
  if (r.bad || st == null) return badInput("StreamIn");
  const s = st as State;
  const step = mapEvents(s, events);
  if (step.bad) return badInput("StreamIn events");
  const state = new Writer(64 + s.requestID.len + s.model.len);
  s.encode(state);
  const w = new Writer(step.chunks.buf.len + 128);
  w.fieldBuf(state.buf);
  w.fieldBuf(step.chunks.buf);
  if (step.usage != null) w.field((step.usage as Usage).encode());
  else w.empty();
  w.u32(step.done ? STREAM_DONE : 0);
  if (step.err != null) w.field((step.err as HubError).json());
  return ok(w);
}
