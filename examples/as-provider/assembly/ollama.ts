// The mapping between the hub's canonical form (OpenAI chat completions,
// sdk/ABI.md §3) and Ollama's native API: POST /api/chat (one JSON object,
// or an NDJSON stream) and GET /api/tags.

import { Buf, Bytes, copy, same } from "./mem";
import { J_ARR, J_NULL, J_NUM, J_OBJ, J_STR, J_TRUE, JValue, parse, toCount, writeString, writeValue } from "./json";
import { HubError, Reader, Usage, Writer, hubError } from "./abi";

// ---- per-call state (opaque to the host, §3) -------------------------------

const KIND_CHAT: u32 = 1;
const KIND_MODELS: u32 = 2;

const S_INCLUDE_USAGE: u32 = 1; // the client asked for the usage chunk
const S_ROLE_SENT: u32 = 2; // the first chunk (with the role) went out
const S_TOOLS: u32 = 4; // the answer called a tool
const S_DONE: u32 = 8; // the stream ended (done or error)

/** What one call carries from hub_request to hub_response / hub_stream_event. */
export class State {
  kind: u32 = KIND_CHAT;
  requestID: Bytes = new Bytes(0, 0);
  model: Bytes = new Bytes(0, 0);
  created: u64 = 0;
  flags: u32 = 0;
  tools: u32 = 0; // tool calls streamed so far: the next one's index

  encode(w: Writer): void {
    w.u32(this.kind).field(this.requestID).field(this.model).u64(this.created).u32(this.flags).u32(this.tools);
  }

  static decode(b: Bytes): State | null {
    const r = new Reader(b);
    const s = new State();
    s.kind = r.u32();
    s.requestID = r.field();
    s.model = r.field();
    s.created = r.u64();
    s.flags = r.u32();
    s.tools = r.u32();
    if (r.bad || (s.kind != KIND_CHAT && s.kind != KIND_MODELS)) return null;
    return s;
  }
}

// ---- errors -----------------------------------------------------------------

function badRequest(param: string, message: string): HubError {
  return hubError(400, "invalid_request_error", "", param, message);
}

/** Maps an upstream HTTP failure to the hub's error (sdk/ABI.md §4, "Upstream errors"). */
export function upstreamError(status: u32, headers: Bytes, body: Bytes): HubError {
  const e = new HubError();
  let msg = new Bytes(0, 0);
  const doc = parse(body);
  if (doc != null) {
    const m = doc.getStr("error");
    if (m != null) msg = m;
  }
  const st = <i32>status;
  if (st == 401 || st == 403) {
    // Never echo the provider's text: it may quote the credential.
    e.status = 502;
    e.type = "upstream_error";
    e.code = "upstream_auth_failed";
    e.message = new Buf(64).lit("the provider rejected the hub's credential (HTTP ").int(st).lit(")").view();
    e.retryable = true;
    return e;
  }
  if (st == 429) {
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    e.retryable = true;
    e.retryAfterMS = retryAfterMS(headers);
  } else if (st == 408 || st == 504) {
    e.status = 504;
    e.type = "upstream_timeout";
    e.retryable = true;
  } else if (st == 503) {
    // Ollama's 503 is "server busy": overloaded, try elsewhere.
    e.status = 503;
    e.type = "upstream_overloaded";
    e.retryable = true;
    e.retryAfterMS = retryAfterMS(headers);
  } else if (st >= 500) {
    e.status = 502;
    e.type = "upstream_error";
    e.retryable = true;
    e.retryAfterMS = retryAfterMS(headers);
  } else if (st >= 400) {
    e.status = st;
    e.type = "invalid_request_error";
    if (st == 404) e.code = "model_not_found";
  } else {
    e.status = 502;
    e.type = "upstream_error";
  }
  e.message = msg.len > 0 ? msg : new Buf(48).lit("the provider answered HTTP ").int(st).view();
  return e;
}

/** Reads Retry-After (delay-seconds) from a headers field, in milliseconds; 0 when absent. */
function retryAfterMS(headers: Bytes): i64 {
  let line = 0;
  while (line < headers.len) {
    let end = headers.indexOf(0x0a, line);
    if (end < 0) end = headers.len;
    const name = "retry-after: ";
    if (end - line > name.length) {
      let match = true;
      for (let i = 0; i < name.length; i++) {
        let c = headers.at(line + i);
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        if (<u32>c != <u32>name.charCodeAt(i)) { match = false; break; }
      }
      if (match) {
        let n: i64 = 0;
        for (let i = line + name.length; i < end; i++) {
          const c = headers.at(i);
          if (c < 0x30 || c > 0x39) return 0; // an HTTP-date: not used by Ollama
          if (n < 1_000_000_000) n = n * 10 + <i64>(c - 0x30);
        }
        return n * 1000;
      }
    }
    line = end + 1;
  }
  return 0;
}

// ---- config ----------------------------------------------------------------

/**
 * Appends the config's "headers" (a table of extra upstream request headers)
 * as header lines (§3). A name or value a header line cannot carry is a
 * config error.
 */
export function configHeaders(cfg: Bytes, out: Buf): HubError | null {
  if (cfg.len == 0) return null;
  const doc = parse(cfg);
  if (doc == null || doc.kind != J_OBJ) return hubError(500, "plugin_error", "bad_config", "", "as-ollama: the config is not a JSON object");
  const h = doc.get("headers");
  if (h == null) return null;
  if (h.kind != J_OBJ) return hubError(500, "plugin_error", "bad_config", "", "as-ollama: config.headers must be a table of strings");
  const keys = h.keys as Array<Bytes>;
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i];
    const v = h.item(i);
    if (v.kind != J_STR || name.len == 0 || !headerSafe(name, true) || !headerSafe(v.str, false)) {
      return hubError(500, "plugin_error", "bad_config", "", "as-ollama: config.headers must map header names to single-line strings");
    }
    out.bytes(name).lit(": ").bytes(v.str).byte(0x0a);
  }
  return null;
}

function headerSafe(b: Bytes, name: bool): bool {
  for (let i = 0; i < b.len; i++) {
    const c = b.at(i);
    if (c == 0x0a || c == 0x0d) return false;
    if (name && (c == 0x3a || c == 0x20)) return false;
  }
  return true;
}

// ---- hub_request ------------------------------------------------------------

/** The result of mapping a request: an upstream request, or an error. */
export class Mapped {
  err: HubError | null = null;
  method: string = "POST";
  path: string = "/api/chat";
  body: Bytes = new Bytes(0, 0);
  state: State = new State();
}

function fails(e: HubError): Mapped {
  const m = new Mapped();
  m.err = e;
  return m;
}

/** Builds the upstream request for the chat.completions and models APIs. */
export function mapRequest(api: Bytes, model: Bytes, stream: bool, includeUsage: bool,
  requestID: Bytes, body: Bytes, options: Bytes, unixMS: u64): Mapped {
  const m = new Mapped();
  m.state.requestID = requestID;
  m.state.model = model;
  m.state.created = unixMS / 1000;
  if (api.is("models")) {
    m.state.kind = KIND_MODELS;
    m.method = "GET";
    m.path = "/api/tags";
    return m;
  }
  if (!api.is("chat.completions")) {
    const e = hubError(400, "invalid_request_error", "unsupported_api", "", "the as-ollama provider does not support this API");
    return fails(e);
  }
  if (stream && includeUsage) m.state.flags |= S_INCLUDE_USAGE;

  const req = parse(body);
  if (req == null || req.kind != J_OBJ) return fails(badRequest("", "the request body is not a JSON object"));
  const opts = parse(options.len == 0 ? new Buf(2).lit("{}").view() : options);
  if (opts == null || opts.kind != J_OBJ) return fails(hubError(500, "plugin_error", "bad_options", "", "the provider's options are not a JSON object"));

  const out = new Buf(body.len + 256);
  out.lit("{\"model\":");
  writeString(out, model);
  out.lit(",\"messages\":");
  const e = messages(out, req.get("messages"));
  if (e != null) return fails(e);
  out.lit(stream ? ",\"stream\":true" : ",\"stream\":false");

  const n = req.get("n");
  if (n != null && !(n.kind == J_NUM && n.str.is("1"))) return fails(badRequest("n", "this provider returns one choice: n must be 1"));

  const tools = req.get("tools");
  const choice = req.get("tool_choice");
  const noTools = choice != null && choice.kind == J_STR && choice.str.is("none");
  if (tools != null && tools.kind == J_ARR && tools.count() > 0 && !noTools) {
    out.lit(",\"tools\":");
    writeValue(out, tools);
  }

  const rf = req.get("response_format");
  if (rf != null && rf.kind == J_OBJ) {
    const t = rf.getStr("type");
    if (t != null && t.is("json_object")) {
      out.lit(",\"format\":\"json\"");
    } else if (t != null && t.is("json_schema")) {
      const js = rf.get("json_schema");
      const schema = js != null ? js.get("schema") : null;
      if (schema == null || schema.kind != J_OBJ) return fails(badRequest("response_format.json_schema.schema", "a json_schema response format needs a schema object"));
      out.lit(",\"format\":");
      writeValue(out, schema);
    }
  }

  const effort = req.getStr("reasoning_effort");
  if (effort != null) {
    if (effort.is("none")) out.lit(",\"think\":false");
    else if (effort.is("minimal") || effort.is("low")) out.lit(",\"think\":\"low\"");
    else if (effort.is("medium")) out.lit(",\"think\":\"medium\"");
    else if (effort.is("high") || effort.is("xhigh")) out.lit(",\"think\":\"high\"");
    else return fails(badRequest("reasoning_effort", "reasoning_effort must be none, minimal, low, medium or high"));
  }

  // Sampling options, copied as the client wrote them.
  const o = new Buf(128);
  numberOption(o, req, "temperature", "temperature");
  numberOption(o, req, "top_p", "top_p");
  numberOption(o, req, "seed", "seed");
  numberOption(o, req, "frequency_penalty", "frequency_penalty");
  numberOption(o, req, "presence_penalty", "presence_penalty");
  if (!numberOption(o, req, "max_completion_tokens", "num_predict")) numberOption(o, req, "max_tokens", "num_predict");
  const stop = req.get("stop");
  if (stop != null) {
    if (stop.kind == J_STR) {
      o.lit(o.len == 0 ? "\"stop\":[" : ",\"stop\":[");
      writeString(o, stop.str);
      o.byte(0x5d);
    } else if (stop.kind == J_ARR) {
      o.lit(o.len == 0 ? "\"stop\":" : ",\"stop\":");
      writeValue(o, stop);
    }
  }
  // The provider's own options (hub.toml [[providers]] options): num_ctx.
  numberOption(o, opts, "num_ctx", "num_ctx");
  if (o.len > 0) {
    out.lit(",\"options\":{").bytes(o.view()).byte(0x7d);
  }
  const keep = opts.get("keep_alive");
  if (keep != null && (keep.kind == J_STR || keep.kind == J_NUM)) {
    out.lit(",\"keep_alive\":");
    writeValue(out, keep);
  }
  out.byte(0x7d);
  m.body = out.view();
  return m;
}

/** Appends "name":value for a numeric member key of obj; reports whether it did. */
function numberOption(o: Buf, obj: JValue, key: string, name: string): bool {
  const v = obj.get(key);
  if (v == null || v.kind != J_NUM) return false;
  if (o.len > 0) o.byte(0x2c);
  o.byte(0x22).lit(name).lit("\":").bytes(v.str);
  return true;
}

/** Appends Ollama's messages array for the canonical messages. */
function messages(out: Buf, msgs: JValue | null): HubError | null {
  if (msgs == null || msgs.kind != J_ARR || msgs.count() == 0) return badRequest("messages", "messages must be a non-empty array");
  // Tool call ids seen so far and their function names, for tool results.
  const ids = new Array<Bytes>();
  const names = new Array<Bytes>();
  out.byte(0x5b);
  for (let i = 0; i < msgs.count(); i++) {
    const m = msgs.item(i);
    const at = "messages[" + i.toString() + "]";
    if (m.kind != J_OBJ) return badRequest(at, "each message must be an object");
    const role = m.getStr("role");
    if (role == null) return badRequest(at + ".role", "each message needs a role");
    if (i > 0) out.byte(0x2c);
    out.lit("{\"role\":");
    if (role.is("developer") || role.is("system")) out.lit("\"system\"");
    else if (role.is("user") || role.is("assistant") || role.is("tool")) writeString(out, role);
    else return badRequest(at + ".role", "role must be system, developer, user, assistant or tool");

    // Content: a string, null, or parts (text and data: URL images).
    const text = new Buf(64);
    const images = new Buf(0);
    let nImages = 0;
    const c = m.get("content");
    if (c != null && c.kind == J_STR) {
      text.bytes(c.str);
    } else if (c != null && c.kind == J_ARR) {
      for (let j = 0; j < c.count(); j++) {
        const part = c.item(j);
        const pat = at + ".content[" + j.toString() + "]";
        const t = part.kind == J_OBJ ? part.getStr("type") : null;
        if (t == null) return badRequest(pat, "each content part needs a type");
        if (t.is("text")) {
          const s = part.getStr("text");
          if (s == null) return badRequest(pat + ".text", "a text part needs a text string");
          text.bytes(s);
        } else if (t.is("image_url")) {
          const iu = part.get("image_url");
          let url: Bytes | null = null;
          if (iu != null && iu.kind == J_OBJ) url = iu.getStr("url");
          else if (iu != null && iu.kind == J_STR) url = iu.str;
          if (url == null) return badRequest(pat + ".image_url.url", "an image part needs a url");
          const comma = url.indexOf(0x2c);
          if (!url.startsWith("data:") || comma < 0 || comma < 7 || !url.sub(comma - 7, comma).is(";base64")) {
            return badRequest(pat + ".image_url.url", "this provider takes images only as base64 data: URLs");
          }
          if (nImages > 0) images.byte(0x2c);
          writeString(images, url.sub(comma + 1, url.len));
          nImages++;
        } else {
          return badRequest(pat + ".type", "this provider takes only text and image_url content parts");
        }
      }
    } else if (c != null && c.kind != J_NULL) {
      return badRequest(at + ".content", "content must be a string, an array of parts or null");
    }
    out.lit(",\"content\":");
    writeString(out, text.view());
    if (nImages > 0) out.lit(",\"images\":[").bytes(images.view()).byte(0x5d);

    const calls = m.get("tool_calls");
    if (role.is("assistant") && calls != null && calls.kind == J_ARR && calls.count() > 0) {
      out.lit(",\"tool_calls\":[");
      for (let j = 0; j < calls.count(); j++) {
        const tc = calls.item(j);
        const cat = at + ".tool_calls[" + j.toString() + "]";
        const fn = tc.kind == J_OBJ ? tc.get("function") : null;
        const name = fn != null ? fn.getStr("name") : null;
        if (fn == null || name == null) return badRequest(cat + ".function.name", "a tool call needs a function name");
        const argsText = fn.getStr("arguments");
        let args: JValue | null = null;
        if (argsText == null || argsText.len == 0) {
          args = parse(new Buf(2).lit("{}").view());
        } else {
          args = parse(argsText);
        }
        if (args == null || args.kind != J_OBJ) return badRequest(cat + ".function.arguments", "tool call arguments must be a JSON object");
        if (j > 0) out.byte(0x2c);
        out.byte(0x7b);
        const id = tc.getStr("id");
        if (id != null) {
          out.lit("\"id\":");
          writeString(out, id);
          out.byte(0x2c);
          ids.push(id);
          names.push(name);
        }
        out.lit("\"function\":{\"index\":").int(j).lit(",\"name\":");
        writeString(out, name);
        out.lit(",\"arguments\":");
        writeValue(out, args);
        out.lit("}}");
      }
      out.byte(0x5d);
    }
    if (role.is("tool")) {
      const id = m.getStr("tool_call_id");
      if (id != null) {
        for (let k = ids.length - 1; k >= 0; k--) {
          if (same(ids[k], id)) {
            out.lit(",\"tool_name\":");
            writeString(out, names[k]);
            break;
          }
        }
        out.lit(",\"tool_call_id\":");
        writeString(out, id);
      }
    }
    out.byte(0x7d);
  }
  out.byte(0x5d);
  return null;
}

// ---- canonical output -------------------------------------------------------

function appendID(b: Buf, st: State): void {
  const id = new Buf(16 + st.requestID.len).lit("chatcmpl-").bytes(st.requestID);
  writeString(b, id.view());
}

function appendUsage(b: Buf, u: Usage): void {
  b.lit("{\"prompt_tokens\":").int(u.input).lit(",\"completion_tokens\":").int(u.output)
    .lit(",\"total_tokens\":").int(u.input + u.output).byte(0x7d);
}

/** Reads Ollama's counts: prompt_eval_count and eval_count (a missing count is 0). */
function usageOf(doc: JValue): Usage {
  const u = new Usage();
  u.input = toCount(doc.get("prompt_eval_count"));
  u.output = toCount(doc.get("eval_count"));
  return u;
}

function finishReason(doc: JValue, tools: bool): string {
  const r = doc.getStr("done_reason");
  if (r != null && r.is("length")) return "length";
  return tools ? "tool_calls" : "stop";
}

/**
 * Appends the canonical tool calls of an Ollama message: in a stream each
 * with its index (numbered from first), in a response without.
 */
function appendToolCalls(b: Buf, calls: JValue, st: State, first: u32, stream: bool): void {
  b.byte(0x5b);
  for (let i = 0; i < calls.count(); i++) {
    const tc = calls.item(i);
    const fn = tc.kind == J_OBJ ? tc.get("function") : null;
    if (i > 0) b.byte(0x2c);
    b.byte(0x7b);
    if (stream) b.lit("\"index\":").int(<i64>(first + <u32>i)).byte(0x2c);
    b.lit("\"id\":");
    const id = tc.kind == J_OBJ ? tc.getStr("id") : null;
    if (id != null && id.len > 0) {
      writeString(b, id);
    } else {
      // Older Ollama servers send no id: a stable one from the request id.
      const syn = new Buf(32).lit("call_").bytes(st.requestID).byte(0x5f).int(<i64>(first + <u32>i));
      writeString(b, syn.view());
    }
    b.lit(",\"type\":\"function\",\"function\":{\"name\":");
    const name = fn != null ? fn.getStr("name") : null;
    writeString(b, name != null ? name : new Bytes(0, 0));
    b.lit(",\"arguments\":");
    // Ollama's arguments are an object; OpenAI's are that object as a string.
    const args = fn != null ? fn.get("arguments") : null;
    const text = new Buf(64);
    if (args != null) writeValue(text, args);
    else text.lit("{}");
    writeString(b, text.view());
    b.lit("}}");
  }
  b.byte(0x5d);
}

/** The result of hub_response or of one stream step. */
export class Output {
  err: HubError | null = null;
  body: Bytes = new Bytes(0, 0);
  usage: Usage | null = null;
}

function failsOut(e: HubError): Output {
  const o = new Output();
  o.err = e;
  return o;
}

function malformed(what: string): HubError {
  return hubError(502, "upstream_error", "bad_upstream_response", "", "the provider's " + what + " is not valid JSON");
}

/** Maps a whole 2xx response: a chat completion, or the model list. */
export function mapResponse(st: State, body: Bytes): Output {
  const doc = parse(body);
  if (doc == null || doc.kind != J_OBJ) return failsOut(malformed("response"));
  const o = new Output();
  const b = new Buf(body.len + 256);
  if (st.kind == KIND_MODELS) {
    b.lit("{\"object\":\"list\",\"data\":[");
    const models = doc.get("models");
    let n = 0;
    if (models != null && models.kind == J_ARR) {
      for (let i = 0; i < models.count(); i++) {
        const m = models.item(i);
        const name = m.kind == J_OBJ ? m.getStr("name") : null;
        if (name == null) continue;
        if (n++ > 0) b.byte(0x2c);
        b.lit("{\"id\":");
        writeString(b, name);
        b.lit(",\"object\":\"model\",\"created\":").int(<i64>st.created).lit(",\"owned_by\":\"ollama\"}");
      }
    }
    b.lit("]}");
    o.body = b.view();
    return o;
  }
  const err = doc.getStr("error");
  if (err != null) {
    const e = new HubError();
    e.message = err;
    return failsOut(e);
  }
  const msg = doc.get("message");
  const content = msg != null ? msg.getStr("content") : null;
  const thinking = msg != null ? msg.getStr("thinking") : null;
  const calls = msg != null ? msg.get("tool_calls") : null;
  const hasCalls = calls != null && calls.kind == J_ARR && calls.count() > 0;
  const u = usageOf(doc);

  b.lit("{\"id\":");
  appendID(b, st);
  b.lit(",\"object\":\"chat.completion\",\"created\":").int(<i64>st.created).lit(",\"model\":");
  writeString(b, st.model);
  b.lit(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
  if (content != null && content.len > 0) writeString(b, content);
  else if (hasCalls) b.lit("null");
  else b.lit("\"\"");
  if (thinking != null && thinking.len > 0) {
    b.lit(",\"reasoning_content\":");
    writeString(b, thinking);
  }
  if (hasCalls) {
    b.lit(",\"tool_calls\":");
    appendToolCalls(b, calls as JValue, st, 0, false);
  }
  b.lit("},\"logprobs\":null,\"finish_reason\":\"").lit(finishReason(doc, hasCalls)).lit("\"}],\"usage\":");
  appendUsage(b, u);
  b.byte(0x7d);
  o.body = b.view();
  o.usage = u;
  return o;
}

// ---- hub_stream_event ---------------------------------------------------------

/** What a batch of stream events produced (StreamOut, §3). */
export class StreamStep {
  chunks: Writer = new Writer(512);
  usage: Usage | null = null;
  done: bool = false;
  err: HubError | null = null;
  /** Set when the events field itself is malformed (an input error). */
  bad: bool = false;
}

function chunkHead(b: Buf, st: State): void {
  b.lit("{\"id\":");
  appendID(b, st);
  b.lit(",\"object\":\"chat.completion.chunk\",\"created\":").int(<i64>st.created).lit(",\"model\":");
  writeString(b, st.model);
  b.lit(",\"choices\":[");
}

/**
 * Maps one NDJSON line of an /api/chat stream. It appends chunks to step,
 * and updates st; it sets step.done at the last line and step.err at an
 * in-stream error or a line that is not JSON.
 */
export function mapEvent(st: State, data: Bytes, step: StreamStep): void {
  const doc = parse(data);
  if (doc == null || doc.kind != J_OBJ) {
    step.err = malformed("stream event");
    return;
  }
  const err = doc.getStr("error");
  if (err != null) {
    // An error after the stream started (HTTP 200 already sent).
    const e = new HubError();
    e.message = copy(err);
    step.err = e;
    return;
  }
  const msg = doc.get("message");
  const content = msg != null ? msg.getStr("content") : null;
  const thinking = msg != null ? msg.getStr("thinking") : null;
  const calls = msg != null ? msg.get("tool_calls") : null;
  const hasCalls = calls != null && calls.kind == J_ARR && calls.count() > 0;
  const hasText = content != null && content.len > 0;
  const hasThinking = thinking != null && thinking.len > 0;

  if (hasText || hasThinking || hasCalls || (st.flags & S_ROLE_SENT) == 0) {
    const b = new Buf(128 + data.len);
    chunkHead(b, st);
    b.lit("{\"index\":0,\"delta\":{");
    let sep = false;
    if ((st.flags & S_ROLE_SENT) == 0) {
      b.lit("\"role\":\"assistant\"");
      sep = true;
      st.flags |= S_ROLE_SENT;
      if (!hasText && !hasCalls && !hasThinking) b.lit(",\"content\":\"\"");
    }
    if (hasThinking) {
      if (sep) b.byte(0x2c);
      b.lit("\"reasoning_content\":");
      writeString(b, thinking as Bytes);
      sep = true;
    }
    if (hasText) {
      if (sep) b.byte(0x2c);
      b.lit("\"content\":");
      writeString(b, content as Bytes);
      sep = true;
    }
    if (hasCalls) {
      if (sep) b.byte(0x2c);
      b.lit("\"tool_calls\":");
      appendToolCalls(b, calls as JValue, st, st.tools, true);
      st.tools += <u32>(calls as JValue).count();
      st.flags |= S_TOOLS;
    }
    b.lit("},\"logprobs\":null,\"finish_reason\":null}]}");
    step.chunks.fieldBuf(b);
  }

  const done = doc.get("done");
  if (done != null && done.kind == J_TRUE) {
    const b = new Buf(256);
    chunkHead(b, st);
    b.lit("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"")
      .lit(finishReason(doc, (st.flags & S_TOOLS) != 0)).lit("\"}]}");
    step.chunks.fieldBuf(b);
    const u = usageOf(doc);
    if ((st.flags & S_INCLUDE_USAGE) != 0) {
      const c = new Buf(256);
      chunkHead(c, st);
      c.lit("],\"usage\":");
      appendUsage(c, u);
      c.byte(0x7d);
      step.chunks.fieldBuf(c);
    }
    step.usage = u;
    step.done = true;
  }
}

/** Runs every event of a batch in order, stopping at the end or an error. */
export function mapEvents(st: State, events: Bytes): StreamStep {
  const step = new StreamStep();
  if ((st.flags & S_DONE) != 0) {
    step.done = true;
    return step;
  }
  const r = new Reader(events);
  while (r.more()) {
    r.field(); // name: always empty for NDJSON
    const data = r.field();
    if (r.bad) {
      step.bad = true;
      break;
    }
    mapEvent(st, data, step);
    if (step.done || step.err != null) {
      st.flags |= S_DONE;
      break;
    }
  }
  return step;
}
