package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// providersTOML configures every builtin provider preset against one
// emulator, which speaks each provider's own wire format.
const providersTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[limits]
upstream_timeout = "5s"

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-openai-upstream"]
models = ["gpt-4o-mini", "text-embedding-3-small", "dall-e-2"]

[[providers]]
name = "anthropic"
plugin = "anthropic"
base_url = "%[2]s"
credentials = ["sk-ant-upstream"]
models = ["claude-3-5-haiku-latest"]

[[providers]]
name = "google"
plugin = "google"
base_url = "%[2]s"
credentials = ["goog-upstream"]
models = ["gemini-2.0-flash", "text-embedding-004", "imagen-3.0-generate-002"]

[[providers]]
name = "bedrock"
plugin = "bedrock"
base_url = "%[2]s"
region = "us-east-1"
credentials = ["AKIDEMULATOR:emulator-secret"]
models = ["anthropic.claude-3-5-haiku-20241022-v1:0"]

[[providers]]
name = "ollama"
plugin = "ollama"
base_url = "%[2]s"
models = ["llama3.2", "nomic-embed-text"]

[[providers]]
name = "local"
plugin = "ollama"
base_url = "%[2]s"
# no models: discovered from /api/tags

[[providers]]
name = "deepseek"
plugin = "deepseek"
base_url = "%[2]s/v1"
credentials = ["sk-ds-upstream"]
models = ["deepseek-chat", "deepseek-reasoner"]

[[providers]]
name = "xai"
plugin = "xai"
base_url = "%[2]s/v1"
credentials = ["xai-upstream"]
models = ["grok-3-mini", "grok-2-image"]

[[providers]]
name = "openrouter"
plugin = "openrouter"
base_url = "%[2]s/v1"
credentials = ["sk-or-upstream"]
models = ["*"]
options = { title = "AIGNE Hub tests" }

[[providers]]
name = "doubao"
plugin = "doubao"
base_url = "%[2]s/v1"
credentials = ["ark-upstream"]
models = ["doubao-seed-1-6", "doubao-embedding", "doubao-seedream-3-0-t2i"]

[[providers]]
name = "poe"
plugin = "poe"
base_url = "%[2]s/v1"
credentials = ["poe-upstream"]
models = ["Claude-Sonnet-4"]

[[providers]]
name = "vllm"
plugin = "openai-compatible"
base_url = "%[2]s/v1"
credentials = ["vllm-token"]
models = ["meta-llama/Llama-3.1-8B-Instruct"]

[[providers]]
name = "ideogram"
plugin = "ideogram"
base_url = "%[2]s"
credentials = ["ideogram-upstream"]
models = ["V_3"]
`

func startProvidersHub(t *testing.T, eo emulator.Options) *testHub {
	t.Helper()
	return startHubWith(t, eo, func(dataDir, emuURL string) string { return fmt.Sprintf(providersTOML, dataDir, emuURL) })
}

// TestEveryProvider sends a chat completion, whole and streamed, to every
// builtin provider through /v1/chat/completions and checks the canonical
// answer, the upstream request the emulator saw, and the call record.
func TestEveryProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every plugin")
	}
	h := startProvidersHub(t, emulator.Options{})
	chats := []struct {
		provider, model string
		path            string // the upstream path the emulator must have seen
	}{
		{"openai", "openai/gpt-4o-mini", "/v1/chat/completions"},
		{"anthropic", "anthropic/claude-3-5-haiku-latest", "/v1/messages"},
		{"google", "google/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:"},
		{"bedrock", "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", "/model/anthropic.claude-3-5-haiku-20241022-v1"},
		{"ollama", "ollama/llama3.2", "/api/chat"},
		{"deepseek", "deepseek/deepseek-reasoner", "/v1/chat/completions"},
		{"xai", "xai/grok-3-mini", "/v1/chat/completions"},
		{"openrouter", "openrouter/meta-llama/llama-3.3-70b-instruct", "/v1/chat/completions"},
		{"doubao", "doubao/doubao-seed-1-6", "/v1/chat/completions"},
		{"poe", "poe/Claude-Sonnet-4", "/v1/chat/completions"},
		{"vllm", "vllm/meta-llama/Llama-3.1-8B-Instruct", "/v1/chat/completions"},
	}
	for _, c := range chats {
		t.Run(c.provider, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				h.emu.Reset()
				body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}],"max_tokens":64,"stream":%v}`, c.model, stream)
				if stream {
					body = strings.TrimSuffix(body, "}") + `,"stream_options":{"include_usage":true}}`
				}
				resp := h.post(h.key, "/v1/chat/completions", body)
				reqID := resp.Header.Get("X-Request-Id")
				if resp.StatusCode != 200 {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Fatalf("stream=%v: %d %s", stream, resp.StatusCode, b)
				}
				var text string
				if stream {
					events := sse(t, resp.Body)
					resp.Body.Close()
					if len(events) < 3 || events[len(events)-1] != "[DONE]" {
						t.Fatalf("stream events %q", events)
					}
					var sawUsage bool
					for _, ev := range events[:len(events)-1] {
						var chunk struct {
							Object  string `json:"object"`
							Choices []struct {
								Delta struct {
									Content string `json:"content"`
								} `json:"delta"`
							} `json:"choices"`
							Usage *struct {
								PromptTokens int `json:"prompt_tokens"`
							} `json:"usage"`
						}
						if err := json.Unmarshal([]byte(ev), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
							t.Fatalf("chunk %s: %v", ev, err)
						}
						for _, ch := range chunk.Choices {
							text += ch.Delta.Content
						}
						if chunk.Usage != nil && chunk.Usage.PromptTokens > 0 {
							sawUsage = true
						}
					}
					if !sawUsage {
						t.Fatalf("no usage chunk although include_usage was set: %q", events)
					}
				} else {
					var cc struct {
						Object  string `json:"object"`
						Choices []struct {
							Message struct {
								Content string `json:"content"`
							} `json:"message"`
							FinishReason string `json:"finish_reason"`
						} `json:"choices"`
						Usage struct {
							PromptTokens, CompletionTokens int
						} `json:"usage"`
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err := json.Unmarshal(b, &cc); err != nil || cc.Object != "chat.completion" || len(cc.Choices) != 1 || cc.Choices[0].FinishReason == "" {
						t.Fatalf("completion %s: %v", b, err)
					}
					text = cc.Choices[0].Message.Content
				}
				if strings.TrimSpace(text) == "" {
					t.Fatalf("stream=%v: empty answer", stream)
				}
				reqs := h.emu.Requests()
				if len(reqs) != 1 || !strings.HasPrefix(reqs[0].Path, c.path) {
					t.Fatalf("upstream requests %+v, want one to %s", reqs, c.path)
				}
				rec := h.call(reqID)
				if rec.Status != store.CallOK || rec.Provider != c.provider || rec.PromptTokens == 0 || rec.CompletionTokens == 0 || rec.UsageEstimated {
					t.Fatalf("stream=%v: record %+v", stream, rec)
				}
			}
		})
	}
}

// TestEmbeddingsAndImages covers /v1/embeddings and /v1/images/generations
// across the providers that have them, and the 400 for those that do not.
func TestEmbeddingsAndImages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every plugin")
	}
	h := startProvidersHub(t, emulator.Options{})
	for _, model := range []string{"openai/text-embedding-3-small", "google/text-embedding-004", "ollama/nomic-embed-text", "doubao/doubao-embedding"} {
		for _, format := range []string{"float", "base64"} {
			t.Run("embeddings "+model+" "+format, func(t *testing.T) {
				resp := h.post(h.key, "/v1/embeddings", fmt.Sprintf(`{"model":%q,"input":["first text","second"],"encoding_format":%q}`, model, format))
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, b)
				}
				var er struct {
					Object string `json:"object"`
					Data   []struct {
						Index     int             `json:"index"`
						Embedding json.RawMessage `json:"embedding"`
					} `json:"data"`
					Usage struct {
						PromptTokens int `json:"prompt_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal(b, &er); err != nil || er.Object != "list" || len(er.Data) != 2 || er.Data[1].Index != 1 {
					t.Fatalf("response %s: %v", b, err)
				}
				for _, d := range er.Data {
					if format == "float" {
						var v []float64
						if err := json.Unmarshal(d.Embedding, &v); err != nil || len(v) == 0 {
							t.Fatalf("float embedding %s: %v", d.Embedding, err)
						}
					} else {
						var s string
						json.Unmarshal(d.Embedding, &s)
						raw, err := base64.StdEncoding.DecodeString(s)
						if err != nil || len(raw) == 0 || len(raw)%4 != 0 {
							t.Fatalf("base64 embedding %s: %v", d.Embedding, err)
						}
					}
				}
				rec := h.call(resp.Header.Get("X-Request-Id"))
				if rec.Status != store.CallOK || rec.API != "embeddings" || rec.PromptTokens == 0 {
					t.Fatalf("record %+v", rec)
				}
			})
		}
	}
	for _, model := range []string{"openai/dall-e-2", "google/imagen-3.0-generate-002", "doubao/doubao-seedream-3-0-t2i", "xai/grok-2-image", "ideogram/V_3"} {
		t.Run("images "+model, func(t *testing.T) {
			format := "url"
			if strings.HasPrefix(model, "google/") {
				format = "b64_json"
			}
			resp := h.post(h.key, "/v1/images/generations", fmt.Sprintf(`{"model":%q,"prompt":"a red square","n":2,"size":"1024x1024","response_format":%q}`, model, format))
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			var ir struct {
				Created int64 `json:"created"`
				Data    []struct {
					URL     string `json:"url"`
					B64JSON string `json:"b64_json"`
				} `json:"data"`
			}
			if err := json.Unmarshal(b, &ir); err != nil || ir.Created == 0 || len(ir.Data) != 2 || ir.Data[0].URL == "" && ir.Data[0].B64JSON == "" {
				t.Fatalf("response %s: %v", b, err)
			}
			rec := h.call(resp.Header.Get("X-Request-Id"))
			if rec.Status != store.CallOK || rec.Images != 2 {
				t.Fatalf("record %+v", rec)
			}
		})
	}
	for _, c := range []struct{ path, body string }{
		{"/v1/embeddings", `{"model":"anthropic/claude-3-5-haiku-latest","input":"x"}`},
		{"/v1/embeddings", `{"model":"deepseek/deepseek-chat","input":"x"}`},
		{"/v1/images/generations", `{"model":"ollama/llama3.2","prompt":"x"}`},
		{"/v1/chat/completions", `{"model":"ideogram/V_3","messages":[{"role":"user","content":"x"}]}`},
	} {
		resp := h.post(h.key, c.path, c.body)
		if resp.StatusCode != 400 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s %s: %d %s", c.path, c.body, resp.StatusCode, b)
		}
		if e := decodeError(t, resp); e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, "support") ||
			e.Error.Code == nil || *e.Error.Code != "unsupported_model" && *e.Error.Code != "unsupported_api" {
			t.Fatalf("%s: %+v", c.body, e)
		}
	}
}

// TestProviderErrorsNormalized checks that each provider's own rate-limit
// and server-error bodies become the same OpenAI-shaped errors, with
// Retry-After, and never leak the upstream credential.
func TestProviderErrorsNormalized(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every plugin")
	}
	models := []string{"openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "google/gemini-2.0-flash",
		"bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", "deepseek/deepseek-chat", "ollama/llama3.2"}
	for _, tc := range []struct {
		status, want int
		typ          string
	}{{429, 429, ""}, {500, 502, "upstream_error"}, {401, 502, "upstream_error"}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			h := startProvidersHub(t, emulator.Options{Status: tc.status, RetryAfter: 3 * time.Second})
			for _, model := range models {
				if tc.status == 401 && strings.HasPrefix(model, "ollama/") {
					continue // Ollama has no auth
				}
				resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"x"}]}`, model))
				if resp.StatusCode != tc.want {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
				}
				if tc.status == 429 && resp.Header.Get("Retry-After") != "3" {
					t.Errorf("%s: Retry-After %q", model, resp.Header.Get("Retry-After"))
				}
				e := decodeError(t, resp)
				if tc.typ != "" && e.Error.Type != tc.typ {
					t.Errorf("%s: type %q", model, e.Error.Type)
				}
				for _, secret := range []string{"sk-openai-upstream", "sk-ant-upstream", "goog-upstream", "emulator-secret", "AKIDEMULATOR", "sk-ds-upstream"} {
					if strings.Contains(e.Error.Message, secret) {
						t.Errorf("%s: message leaks a credential: %s", model, e.Error.Message)
					}
				}
			}
		})
	}
}

// TestUsageMappingAcrossProviders: every provider reports cached prompt
// tokens in its own shape (OpenAI details, Anthropic and Bedrock outside
// input_tokens, Gemini inside promptTokenCount); each must be metered as the
// same canonical numbers. DeepSeek's reasoner meters reasoning tokens, and
// Bedrock's model id reaches the upstream path escaped (":" as %3A), as
// SigV4 canonicalization requires.
func TestUsageMappingAcrossProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every plugin")
	}
	h := startProvidersHub(t, emulator.Options{Cached: 7})
	for _, model := range []string{"openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "google/gemini-2.0-flash",
		"bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", "deepseek/deepseek-chat"} {
		for _, stream := range []bool{false, true} {
			h.emu.Reset()
			resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Say hello."}],"stream":%v}`, model, stream))
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", model, resp.StatusCode)
			}
			rec := h.call(resp.Header.Get("X-Request-Id"))
			if rec.CachedTokens != 7 || rec.PromptTokens <= 7 || rec.CompletionTokens == 0 || rec.UsageEstimated {
				t.Errorf("%s stream=%v: record %+v", model, stream, rec)
			}
			if strings.HasPrefix(model, "bedrock/") {
				if reqs := h.emu.Requests(); len(reqs) != 1 || !strings.Contains(reqs[0].RawPath, "v1%3A0") {
					t.Errorf("bedrock upstream path %+v", reqs)
				}
			}
		}
	}
	resp := h.post(h.key, "/v1/chat/completions", `{"model":"deepseek/deepseek-reasoner","messages":[{"role":"user","content":"Think."}]}`)
	var cc struct {
		Choices []struct {
			Message struct {
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
	}
	json.NewDecoder(resp.Body).Decode(&cc)
	resp.Body.Close()
	if len(cc.Choices) != 1 || cc.Choices[0].Message.ReasoningContent == "" {
		t.Fatalf("deepseek-reasoner: %+v", cc)
	}
	if rec := h.call(resp.Header.Get("X-Request-Id")); rec.ReasoningTokens == 0 {
		t.Fatalf("reasoning tokens not metered: %+v", rec)
	}
}

// TestModelDiscovery: a provider configured without models serves what its
// upstream lists (Ollama's /api/tags through the plugin's models API).
func TestModelDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every plugin")
	}
	h := startProvidersHub(t, emulator.Options{})
	req, _ := http.NewRequest("GET", h.url+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var ids []string
	for _, m := range list.Data {
		if strings.HasPrefix(m.ID, "local/") {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) != 4 || ids[0] != "local/all-minilm:latest" {
		t.Fatalf("discovered %v", ids)
	}
	resp = h.post(h.key, "/v1/chat/completions", `{"model":"local/qwen3:8b","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp.Body.Close()
	if resp := h.post(h.key, "/v1/chat/completions", `{"model":"local/not-listed","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 404 {
		t.Fatalf("an unlisted model: %d", resp.StatusCode)
	}
}
