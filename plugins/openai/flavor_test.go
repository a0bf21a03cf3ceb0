package main

import (
	"strings"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
)

func headerMap(hs []abi.Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Name] = h.Value
	}
	return m
}

// TestFlavors checks each OpenAI-compatible upstream's quirks, natively and
// as the real openai.wasm.
func TestFlavors(t *testing.T) {
	plugintest.Both(t, newPlugin(nil), "openai", nil, func(t *testing.T, tg plugintest.Target) {
		req := func(api, options, body string, flags uint32) (abi.RequestOut, error) {
			return tg.Request(&abi.RequestIn{API: api, Model: "up-model", Flags: flags, RequestID: "r1", Body: []byte(body), Options: []byte(options)})
		}
		t.Run("deepseek drops reasoning history", func(t *testing.T) {
			out, err := req(abi.APIChatCompletions, `{"flavor":"deepseek"}`,
				`{"model":"x","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","reasoning_content":"r"},{"role":"user","content":"q2"}]}`, 0)
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "body", out.Body,
				[]byte(`{"model":"up-model","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"q2"}]}`))
			if _, err := req(abi.APIEmbeddings, `{"flavor":"deepseek"}`, `{"model":"x","input":"a"}`, 0); plugintest.ErrorOf(t, err).Status != 400 {
				t.Fatal("deepseek has no embeddings")
			}
		})
		t.Run("openrouter attribution and routing", func(t *testing.T) {
			out, err := req(abi.APIChatCompletions, `{"flavor":"openrouter","referer":"https://app.example","title":"My App","provider":{"order":["anthropic"]}}`,
				`{"model":"x","messages":[]}`, abi.FlagStream)
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "body", out.Body,
				[]byte(`{"model":"up-model","messages":[],"stream_options":{"include_usage":true},"provider":{"order":["anthropic"]}}`))
			hs := headerMap(out.Headers)
			if hs["HTTP-Referer"] != "https://app.example" || hs["X-Title"] != "My App" {
				t.Fatalf("headers %v", hs)
			}
			// The client's own routing wins.
			out, _ = req(abi.APIChatCompletions, `{"flavor":"openrouter","provider":{"order":["a"]}}`, `{"model":"x","provider":{"order":["b"]}}`, 0)
			plugintest.JSONEqual(t, "body", out.Body, []byte(`{"model":"up-model","provider":{"order":["b"]}}`))
			// reasoning → reasoning_content, in chunks and in a whole response.
			res := plugintest.Stream(t, tg, out2state(t, tg, `{"flavor":"openrouter"}`),
				[]byte("data: {\"id\":\"g1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"hmm\"}}]}\n\n: OPENROUTER PROCESSING\n\ndata: {\"id\":\"g1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n"))
			if !res.Done || len(res.Chunks) != 2 || !strings.Contains(res.Chunks[0], `"reasoning_content":"hmm"`) || res.Usage == nil || res.Usage.OutputTokens != 2 {
				t.Fatalf("stream %s", res)
			}
			ro, err := tg.Response(&abi.ResponseIn{State: []byte{0, byte(flavorOpenRouter), apiChat}, Status: 200,
				Body: []byte(`{"choices":[{"message":{"role":"assistant","content":"a","reasoning":"why"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)})
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "response", ro.Body, []byte(`{"choices":[{"message":{"role":"assistant","content":"a","reasoning_content":"why"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`))
		})
		t.Run("compatible server without stream usage", func(t *testing.T) {
			out, err := req(abi.APIChatCompletions, `{"flavor":"compatible","stream_usage":false,"headers":{"X-Tenant":"t1"}}`, `{"model":"x","stream":true}`, abi.FlagStream)
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "body", out.Body, []byte(`{"model":"up-model","stream":true}`))
			if headerMap(out.Headers)["X-Tenant"] != "t1" {
				t.Fatal("per-provider headers")
			}
		})
		t.Run("unknown flavor", func(t *testing.T) {
			if _, err := req(abi.APIChatCompletions, `{"flavor":"nope"}`, `{}`, 0); !strings.Contains(plugintest.ErrorOf(t, err).Message, "unknown flavor") {
				t.Fatal(err)
			}
		})
		t.Run("embeddings", func(t *testing.T) {
			out, err := req(abi.APIEmbeddings, `{}`, `{"model":"x","input":["a","b"],"encoding_format":"base64"}`, 0)
			if err != nil || out.Path != "/embeddings" {
				t.Fatal(err, out.Path)
			}
			plugintest.JSONEqual(t, "body", out.Body, []byte(`{"model":"up-model","input":["a","b"],"encoding_format":"base64"}`))
			ro, err := tg.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "embeddings-float.response.json")})
			if err != nil || ro.Usage == nil || ro.Usage.InputTokens == 0 {
				t.Fatalf("%v %+v", err, ro.Usage)
			}
		})
		t.Run("images", func(t *testing.T) {
			out, err := req(abi.APIImages, `{"flavor":"xai"}`, `{"model":"x","prompt":"cat","size":"1024x1024","n":2}`, 0)
			if err != nil || out.Path != "/images/generations" {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "xai body", out.Body, []byte(`{"model":"up-model","prompt":"cat","n":2}`))
			out, _ = req(abi.APIImages, `{"flavor":"doubao"}`, `{"model":"x","prompt":"cat"}`, 0)
			plugintest.JSONEqual(t, "doubao body", out.Body, []byte(`{"model":"up-model","prompt":"cat","watermark":false}`))
			ro, err := tg.Response(&abi.ResponseIn{State: out.State, Status: 200,
				Body: []byte(`{"created":1,"data":[{"url":"https://x/1.png"},{"url":"https://x/2.png"}],"usage":{"input_tokens":10,"output_tokens":4000}}`)})
			if err != nil || ro.Usage.Images != 2 || ro.Usage.InputTokens != 10 || ro.Usage.OutputTokens != 4000 {
				t.Fatalf("%v %+v", err, ro.Usage)
			}
			if _, err := req(abi.APIImages, `{"flavor":"poe"}`, `{"model":"x","prompt":"p"}`, 0); plugintest.ErrorOf(t, err).Status != 400 {
				t.Fatal("poe has no images")
			}
		})
		t.Run("models", func(t *testing.T) {
			out, err := req(abi.APIModels, `{}`, ``, 0)
			if err != nil || out.Method != "GET" || out.Path != "/models" || len(out.Body) != 0 {
				t.Fatalf("%v %+v", err, out)
			}
			ro, err := tg.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "models.response.json")})
			if err != nil || len(ro.Body) == 0 {
				t.Fatal(err)
			}
		})
	})
}

// out2state returns the state a streamed chat request gets with options.
func out2state(t *testing.T, tg plugintest.Target, options string) []byte {
	t.Helper()
	out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Flags: abi.FlagStream, Body: []byte(`{"model":"m"}`), Options: []byte(options)})
	if err != nil {
		t.Fatal(err)
	}
	return out.State
}
