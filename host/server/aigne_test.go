package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/host/server"
	"github.com/aignehub/hub/store"
)

// The AIGNE surface end to end: a real hub on loopback (host/app, with the
// openai plugin built from source and billing on) in front of the provider
// emulator, called the way @aigne/aigne-hub 0.10.16 calls AIGNE Hub. A
// second server on the same engine has Options.Rates, for the priced model
// list and status.

// agAnswer is the emulator's answer: four words of JSON, so that a provider
// sending four chunks answers exactly this object.
const agAnswer = `{"answer":"Hello from the hub"}`

const agHubTOML = `
listen = "127.0.0.1:0"
data_dir = %q

[limits]
upstream_timeout = "5s"
max_request_body = "64KiB"

[billing]
enabled = true

[billing.rates]
"gpt-4o-mini" = { input = "1", output = "2" }
"text-embedding-3-small" = { input = "0.5", output = "0" }
"gpt-image-1" = { per_image = "0.04" }

[plugins.openai]
source = "builtin:openai"

[plugins.ejson]
source = "builtin:openai"
config = { headers = { "X-Emulator-Chunks" = "4" } }

[plugins.ecut]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "3", "X-Emulator-Chunks" = "10" } }

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini", "text-embedding-3-small", "gpt-image-1", "dall-e-3"]

[[providers]]
name = "ejson"
plugin = "ejson"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ecut"
plugin = "ecut"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

// agHub is a running hub, a priced server on its engine, and keys.
type agHub struct {
	*testHub
	priced string // a server with Options.Rates on the hub's engine
	key    string // a user key with credits
	broke  string // a user key of an account without credits
}

func agStartHub(t *testing.T) *agHub {
	t.Helper()
	h := &agHub{testHub: startHub(t, agHubTOML, emulator.New(emulator.Options{Answer: agAnswer}))}
	hub := h.hub
	priced := httptest.NewServer(server.New(server.Options{Auth: hub.Auth(), Engine: hub.Engine(), Logger: h.logger,
		Rates: func(ctx context.Context) (map[string]store.ModelRate, error) {
			rs, err := hub.Store().ListModelRates(ctx)
			m := map[string]store.ModelRate{}
			for _, r := range rs {
				m[r.Model] = r
			}
			return m, err
		}}))
	t.Cleanup(priced.Close)
	h.priced = priced.URL

	key, acct := h.newKey("default", "aigne-default")
	if err := hub.Biller().Grant(context.Background(), acct, 100_000_000, "test", time.Time{}); err != nil {
		t.Fatal(err)
	}
	h.key = key
	h.broke, _ = h.newKey("broke", "aigne-broke")
	return h
}

// do sends a request the way @aigne/transport's BaseClient does
// (base-client.js, lines 32–38): JSON, "Authorization: Bearer KEY", and
// AIGNE's client id header.
func (h *agHub) do(method, url, key, body string, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-aigne-hub-client-did", "zTestApp")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// body reads a response, checking its status.
func agBody(t *testing.T, resp *http.Response, status int) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	return b
}

func agJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// agRead reads a /api/v2/chat stream as @aigne/core does: SSE events, each
// data JSON-parsed, "event: error" thrown as its message, the deltas merged
// (delta.text appended, delta.json assigned). It also returns the raw
// events.
func agRead(t *testing.T, stream string) (map[string]any, []string, error) {
	t.Helper()
	out := map[string]any{}
	var events []string
	if !strings.HasSuffix(stream, "\n\n") {
		t.Fatalf("the stream does not end with a complete event: %q", stream)
	}
	for _, ev := range strings.Split(strings.TrimSuffix(stream, "\n\n"), "\n\n") {
		events = append(events, ev)
		name, data := "", ""
		for _, line := range strings.Split(ev, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			default:
				t.Fatalf("unexpected line %q", line)
			}
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("an event the client cannot parse: %q", data)
		}
		if name == "error" {
			msg, _ := v["message"].(string)
			return out, events, errors.New(msg)
		}
		delta, ok := v["delta"].(map[string]any)
		if !ok || name != "" {
			t.Fatalf("event %q is not a delta: %s", name, data)
		}
		if text, ok := delta["text"].(map[string]any); ok {
			for k, s := range text {
				prev, _ := out[k].(string)
				out[k] = prev + s.(string)
			}
		}
		if js, ok := delta["json"].(map[string]any); ok {
			for k, v := range js {
				out[k] = v
			}
		}
	}
	return out, events, nil
}

// agOutput is the chat output in b: a stream read as agRead does (an
// error event fails the test), or the JSON object.
func agOutput(t *testing.T, b []byte, stream bool) map[string]any {
	t.Helper()
	if !stream {
		return agJSON(t, b)
	}
	out, _, err := agRead(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// agInvoke is the body BaseClient.__invoke posts for a chat model
// (captured from the real client).
func agInvoke(model, messages, extra string, streaming bool) string {
	opts := `{"userContext":{},"memories":[]}`
	if streaming {
		opts = `{"streaming":true,"userContext":{},"memories":[]}`
	}
	return `{"input":{"messages":` + messages + extra + `,"modelOptions":{"cacheConfig":{"autoBreakpoints":{"lastMessage":true}},"model":"` +
		model + `"},"outputFileType":"url"},"agent":"$CHAT_MODEL","options":` + opts + `}`
}

const agHello = `[{"role":"system","content":"You are terse."},{"role":"user","content":"hello there"}]`

const agTools = `,"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`

func TestAIGNE(t *testing.T) {
	h := agStartHub(t)

	t.Run("discovery", func(t *testing.T) {
		// getAIGNEHubMountPoint: GET <origin>/__blocklet__.js?type=json,
		// no key, the mount point of AIGNE Hub's DID.
		b := agBody(t, h.do("GET", h.url+"/__blocklet__.js?type=json", "", ""), 200)
		var v struct {
			ComponentMountPoints []struct{ DID, MountPoint string }
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.ComponentMountPoints) != 1 ||
			v.ComponentMountPoints[0].DID != "z8ia3xzq2tMq8CRHfaXj1BTYJyYnEcHbqP8cJ" || v.ComponentMountPoints[0].MountPoint != "/" {
			t.Fatalf("%v %s", err, b)
		}
		if !strings.Contains(string(b), `"appUrl":"`+h.url+`"`) {
			t.Fatalf("appUrl: %s", b)
		}
		resp := h.do("GET", h.url+"/__blocklet__.js", "", "")
		if s := agBody(t, resp, 200); !strings.HasPrefix(string(s), "window.blocklet = ") || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
			t.Fatalf("script: %s", s)
		}
	})

	var nonStream map[string]any
	t.Run("chat", func(t *testing.T) {
		resp := h.do("POST", h.url+"/api/v2/chat", h.key, agInvoke("openai/gpt-4o-mini", agHello, "", false))
		out := agJSON(t, agBody(t, resp, 200))
		usage, _ := out["usage"].(map[string]any)
		if text, _ := out["text"].(string); text == "" || out["model"] != "gpt-4o-mini" || usage["inputTokens"].(float64) < 1 || usage["outputTokens"].(float64) < 1 {
			t.Fatalf("output %v", out)
		}
		nonStream = out
		// Metered and billed as any call: 1 and 2 micro-credits a token.
		c := h.call(resp.Header.Get("X-Request-Id"))
		if c.API != "chat.completions" || c.Status != store.CallOK || c.Stream || c.Provider != "openai" ||
			c.PromptTokens != int64(usage["inputTokens"].(float64)) || c.Credits != c.PromptTokens+2*c.CompletionTokens || c.Credits == 0 {
			t.Fatalf("record %+v", c)
		}
		// The charge is reported back, in credits, as AIGNE Hub does.
		if got, want := fmt.Sprint(usage["aigneHubCredits"]), fmt.Sprint(float64(c.Credits)/1e6); got != want {
			t.Fatalf("usage.aigneHubCredits %s, want %s (%v)", got, want, usage)
		}
	})

	t.Run("chat stream", func(t *testing.T) {
		resp := h.do("POST", h.url+"/api/v2/chat", h.key, agInvoke("openai/gpt-4o-mini", agHello, "", true))
		b := agBody(t, resp, 200)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		out, events, err := agRead(t, string(b))
		if err != nil {
			t.Fatal(err)
		}
		// The same output as the non-stream call, delta by delta: the
		// model first, text deltas, the usage; no terminator.
		if !reflect.DeepEqual(out, nonStream) {
			t.Fatalf("stream output %v\nnon-stream %v", out, nonStream)
		}
		if len(events) < 4 || events[0] != `data: {"delta":{"json":{"model":"gpt-4o-mini"}}}` || !strings.HasPrefix(events[1], `data: {"delta":{"text":{"text":`) {
			t.Fatalf("events %q", events)
		}
		if c := h.call(resp.Header.Get("X-Request-Id")); !c.Stream || c.Status != store.CallOK || c.Credits == 0 || c.UsageEstimated {
			t.Fatalf("record %+v", c)
		}
	})

	t.Run("tool calls", func(t *testing.T) {
		msgs := `[{"role":"user","content":"What is the weather in Paris?"}]`
		for _, stream := range []bool{false, true} {
			b := agBody(t, h.do("POST", h.url+"/api/v2/chat", h.key, agInvoke("gpt-4o-mini", msgs, agTools, stream)), 200)
			out := agOutput(t, b, stream)
			calls, _ := out["toolCalls"].([]any)
			if len(calls) != 1 {
				t.Fatalf("stream %v: %v", stream, out)
			}
			fn := calls[0].(map[string]any)["function"].(map[string]any)
			if args, ok := fn["arguments"].(map[string]any); !ok || fn["name"] != "get_weather" || args["city"] == nil {
				t.Fatalf("stream %v: call %v", stream, calls[0])
			}
		}
	})

	t.Run("structured output", func(t *testing.T) {
		// ejson answers exactly agAnswer; responseFormat json_schema makes
		// it the output's "json" (validated by the client's ChatModel).
		rf := `,"responseFormat":{"type":"json_schema","jsonSchema":{"name":"a","schema":{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}}}`
		want := map[string]any{"answer": "Hello from the hub"}
		for _, stream := range []bool{false, true} {
			b := agBody(t, h.do("POST", h.url+"/api/v2/chat", h.key, agInvoke("ejson/gpt-4o-mini", agHello, rf, stream)), 200)
			out := agOutput(t, b, stream)
			if !reflect.DeepEqual(out["json"], want) || out["text"] != nil {
				t.Fatalf("stream %v: %v", stream, out)
			}
		}
	})

	t.Run("mid-stream failure", func(t *testing.T) {
		// ecut breaks its stream after three events: the client gets the
		// text so far, then an error event, which it throws.
		b := agBody(t, h.do("POST", h.url+"/api/v2/chat", h.key, agInvoke("ecut/gpt-4o-mini", agHello, "", true)), 200)
		out, events, err := agRead(t, string(b))
		if err == nil || err.Error() == "" || out["text"] == nil || !strings.HasPrefix(events[len(events)-1], "event: error\ndata: {\"message\":") {
			t.Fatalf("out %v err %v events %q", out, err, events)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name, key, body string
			status          int
			typ             string
		}{
			// BaseClient.fetch throws error.message with error.type.
			{"bad key", "sk-hub-not-a-key-at-all", agInvoke("gpt-4o-mini", agHello, "", false), 401, "invalid_request_error"},
			{"bad key, stream", "sk-hub-not-a-key-at-all", agInvoke("gpt-4o-mini", agHello, "", true), 401, "invalid_request_error"},
			{"no key", "", agInvoke("gpt-4o-mini", agHello, "", false), 401, "invalid_request_error"},
			{"unknown model", h.key, agInvoke("openai/unknown-model", agHello, "", false), 404, "invalid_request_error"},
			{"unpriced model", h.key, agInvoke("openai/dall-e-3", agHello, "", false), 400, "invalid_request_error"},
			{"bad role", h.key, agInvoke("gpt-4o-mini", `[{"role":"bot","content":"x"}]`, "", false), 400, "invalid_request_error"},
			{"other agent", h.key, `{"agent":"writer","input":{"messages":[]}}`, 404, "not_found_error"},
			// No credits: AIGNE Hub's CreditError type.
			{"no credits", h.broke, agInvoke("gpt-4o-mini", agHello, "", false), 402, "NOT_ENOUGH"},
			{"no credits, stream", h.broke, agInvoke("gpt-4o-mini", agHello, "", true), 402, "NOT_ENOUGH"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := h.do("POST", h.url+"/api/v2/chat", tt.key, tt.body)
				v := agJSON(t, agBody(t, resp, tt.status))
				e, _ := v["error"].(map[string]any)
				if msg, _ := e["message"].(string); msg == "" || e["type"] != tt.typ || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("body %v", v)
				}
				if strings.Contains(fmt.Sprint(v), "sk-upstream-secret") {
					t.Fatal("an upstream secret in an error")
				}
			})
		}
	})

	t.Run("legacy", func(t *testing.T) {
		body := `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello there"}],"maxTokens":50}`
		// One JSON object.
		out := agJSON(t, agBody(t, h.do("POST", h.url+"/api/v2/chat/completions", h.key, body), 200))
		text, _ := out["text"].(string)
		if out["role"] != "assistant" || text == "" || out["content"] != text {
			t.Fatalf("json %v", out)
		}
		// SSE, as @blocklet/aigne-hub's chatCompletionsV2 asks (Accept:
		// text/event-stream), whatever "stream" says.
		resp := h.do("POST", h.url+"/api/v2/completions", h.key, body, "Accept", "text/event-stream")
		b := string(agBody(t, resp, 200))
		var got string
		var usage map[string]any
		for _, ev := range strings.Split(strings.TrimSuffix(b, "\n\n"), "\n\n") {
			v := agJSON(t, []byte(strings.TrimPrefix(ev, "data: ")))
			if d, ok := v["delta"].(map[string]any); ok {
				got += d["content"].(string)
			} else if usage, ok = v["usage"].(map[string]any); !ok {
				t.Fatalf("event %s", ev)
			}
		}
		if got != text || usage["totalTokens"] == nil {
			t.Fatalf("sse %q", b)
		}
		// stream:true without Accept: the bare text.
		stream := strings.Replace(body, `"maxTokens":50`, `"stream":true`, 1)
		resp = h.do("POST", h.url+"/api/v2/chat/completions", h.key, stream)
		if b := string(agBody(t, resp, 200)); b != text || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("text %q", b)
		}
		// An event-stream client gets errors as an event, status 200, as
		// AIGNE Hub's error handler answers.
		b = string(agBody(t, h.do("POST", h.url+"/api/v2/chat/completions", "sk-hub-bad", body, "Accept", "text/event-stream"), 200))
		if !strings.HasPrefix(b, `data: {"error":{"message":`) {
			t.Fatalf("error event %q", b)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp := h.do("POST", h.url+"/api/v2/embeddings", h.key, `{"model":"openai/text-embedding-3-small","input":["a","b"]}`)
		v := agJSON(t, agBody(t, resp, 200))
		data, _ := v["data"].([]any)
		if len(data) != 2 || len(v) != 1 {
			t.Fatalf("body %v", v)
		}
		if c := h.call(resp.Header.Get("X-Request-Id")); c.API != "embeddings" || c.PromptTokens == 0 || c.Status != store.CallOK {
			t.Fatalf("record %+v", c)
		}
		agBody(t, h.do("POST", h.url+"/api/v2/embeddings", h.key, `{"model":"openai/text-embedding-3-small","input":[]}`), 400)
	})

	t.Run("images", func(t *testing.T) {
		// AIGNEHubImageModel's body (captured).
		body := `{"input":{"prompt":"a cat","n":1,"modelOptions":{"size":"1024x1024","quality":"low","model":"openai/gpt-image-1"},"outputFileType":"url"},"agent":"$CHAT_MODEL","options":{"streaming":false,"userContext":{},"memories":[]}}`
		resp := h.do("POST", h.url+"/api/v2/image", h.key, body)
		v := agJSON(t, agBody(t, resp, 200))
		images, _ := v["images"].([]any)
		if len(images) != 1 || v["model"] != "openai/gpt-image-1" {
			t.Fatalf("body %v", v)
		}
		if im := images[0].(map[string]any); im["type"] != "file" || im["data"] == "" || im["mimeType"] != "image/png" {
			t.Fatalf("image %v", im)
		}
		if c := h.call(resp.Header.Get("X-Request-Id")); c.API != "images.generations" || c.Credits != 40_000 {
			t.Fatalf("record %+v", c)
		}
		v = agJSON(t, agBody(t, h.do("POST", h.url+"/api/v2/image/generations", h.key, `{"model":"openai/gpt-image-1","prompt":"a cat","size":"1024x1024"}`), 200))
		if images, _ := v["data"].([]any); len(images) != 1 || images[0].(map[string]any)["b64_json"] == nil {
			t.Fatalf("legacy body %v", v)
		}
		agBody(t, h.do("POST", h.url+"/api/v2/image", h.key, `{"input":{"prompt":"x","image":[{"type":"url","url":"u"}],"modelOptions":{"model":"openai/gpt-image-1"}}}`), 400)
	})

	t.Run("models", func(t *testing.T) {
		// Public, as the client's getModels sends no key.
		list := func(base, query string) map[string]map[string]any {
			var entries []map[string]any
			if err := json.Unmarshal(agBody(t, h.do("GET", base+"/api/ai/models"+query, "", ""), 200), &entries); err != nil {
				t.Fatal(err)
			}
			out := map[string]map[string]any{}
			for _, e := range entries {
				out[e["key"].(string)] = e
			}
			return out
		}
		all := list(h.priced, "")
		if len(all) != 6 {
			t.Fatalf("models %v", all)
		}
		mini := all["openai/gpt-4o-mini"]
		// 1 and 2 credits per million tokens, per token.
		if mini["input_credits_per_token"] != "0.000001" || mini["output_credits_per_token"] != "0.000002" || mini["type"] != "chat" ||
			mini["provider"] != "openai" || mini["model"] != "gpt-4o-mini" || !reflect.DeepEqual(mini["status"], map[string]any{"available": true}) {
			t.Fatalf("gpt-4o-mini %v", mini)
		}
		if img := all["openai/gpt-image-1"]; img["type"] != "image_generation" || img["output_credits_per_token"] != "0.04" {
			t.Fatalf("gpt-image-1 %v", img)
		}
		if emb := list(h.priced, "?type=embedding"); len(emb) != 1 || emb["openai/text-embedding-3-small"]["input_credits_per_token"] != "0.0000005" {
			t.Fatalf("embeddings %v", emb)
		}
		if chat := list(h.priced, "?type=chat"); len(chat) != 3 {
			t.Fatalf("chat %v", chat)
		}
		if imgs := list(h.url, "?type=image"); len(imgs) != 2 {
			t.Fatalf("images %v", imgs)
		}
		// The hub itself (billing on) wires its rates the same way;
		// /api/ai-providers/models is the same list.
		hubList := list(h.url, "")
		if len(hubList) != 6 || hubList["openai/gpt-4o-mini"]["input_credits_per_token"] != "0.000001" {
			t.Fatalf("hub's own list %v", hubList)
		}
		var same []map[string]any
		if err := json.Unmarshal(agBody(t, h.do("GET", h.url+"/api/ai-providers/models", "", ""), 200), &same); err != nil || len(same) != 6 {
			t.Fatalf("%v %v", err, same)
		}
	})

	t.Run("status", func(t *testing.T) {
		for _, tt := range []struct {
			base, key, query string
			want             string
		}{
			{h.url, h.key, "", `{"available":true}`},
			{h.url, "", "?model=openai/gpt-4o-mini", `{"available":true}`},
			{h.url, h.key, "?model=openai/nope", `{"available":false,"error":"Model openai/nope is not available"}`},
			{h.url, h.key, "?model=openai/dall-e-3", `{"available":false,"error":"Model rate not available"}`},
			{h.priced, h.key, "?model=openai/dall-e-3", `{"available":false,"error":"Model rate not available"}`},
			{h.priced, h.key, "?model=gpt-4o-mini", `{"available":true}`},
		} {
			b := agBody(t, h.do("GET", tt.base+"/api/v2/status"+tt.query, tt.key, ""), 200)
			if strings.TrimSpace(string(b)) != tt.want {
				t.Fatalf("%s%s: %s, want %s", tt.base, tt.query, b, tt.want)
			}
		}
		agBody(t, h.do("GET", h.url+"/api/v2/status", "sk-hub-bad", ""), 401)
	})
}
