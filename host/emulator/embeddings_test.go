package emulator_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

type embeddingsResponse[E any] struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding E      `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func embeddingsRequest(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeBase64Vector decodes a base64 embedding of little-endian float32.
func decodeBase64Vector(t *testing.T, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw)%4 != 0 {
		t.Fatalf("bad base64 embedding %q: %v", s, err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// TestEmbeddingsFixtureBase64 checks the test's decoding against the
// fixture pair: base64 decodes to embeddings-base64.decoded.json.
func TestEmbeddingsFixtureBase64(t *testing.T) {
	resp := decodeJSON[embeddingsResponse[string]](t, testdata(t, "embeddings-base64.response.json"))
	decoded := decodeJSON[map[string][]float32](t, testdata(t, "embeddings-base64.decoded.json"))
	for _, d := range resp.Data {
		got := decodeBase64Vector(t, d.Embedding)
		if want := decoded[string(rune('0'+d.Index))]; !slices.Equal(got, want) {
			t.Errorf("data[%d] decodes to %v, fixture says %v", d.Index, got, want)
		}
	}
}

func TestEmbeddingsFloatVsBase64(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	inputs := []any{
		"The food was delicious and the waiter was friendly.",
		[]string{"The food was delicious and the waiter was friendly.", "The soup was cold."},
		[]int{791, 3691, 574},
		[][]int{{791, 3691}, {574}},
	}
	for _, dims := range []int{0, 1, 8, 256} {
		for _, input := range inputs {
			fields := map[string]any{"model": "text-embedding-3-small", "input": input}
			if dims != 0 {
				fields["dimensions"] = dims
			}
			wantDims := dims
			if dims == 0 {
				wantDims = 8
			}
			fields["encoding_format"] = "float"
			resp, fb := send(t, srv, http.MethodPost, "/v1/embeddings", embeddingsRequest(t, fields))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("float: status %d: %s", resp.StatusCode, fb)
			}
			if m := resp.Header.Get("Openai-Model"); m != "text-embedding-3-small" {
				t.Errorf("Openai-Model = %q", m)
			}
			fields["encoding_format"] = "base64"
			_, bb := send(t, srv, http.MethodPost, "/v1/embeddings", embeddingsRequest(t, fields))
			floats := decodeJSON[embeddingsResponse[[]float64]](t, fb)
			b64 := decodeJSON[embeddingsResponse[string]](t, bb)
			if len(floats.Data) == 0 || len(floats.Data) != len(b64.Data) || floats.Usage != b64.Usage {
				t.Fatalf("float and base64 answers differ in data or usage:\n%s\n%s", fb, bb)
			}
			if floats.Usage.PromptTokens < 1 || floats.Usage.TotalTokens != floats.Usage.PromptTokens {
				t.Errorf("usage = %+v", floats.Usage)
			}
			for i := range floats.Data {
				f, b := floats.Data[i].Embedding, decodeBase64Vector(t, b64.Data[i].Embedding)
				if len(f) != wantDims || len(b) != wantDims || floats.Data[i].Index != i || floats.Data[i].Object != "embedding" {
					t.Fatalf("data[%d]: %d float and %d base64 components, want %d", i, len(f), len(b), wantDims)
				}
				var norm float64
				for j := range f {
					if float32(f[j]) != b[j] {
						t.Errorf("component %d: float %v, base64 %v", j, f[j], b[j])
					}
					norm += f[j] * f[j]
				}
				if math.Abs(norm-1) > 1e-4 {
					t.Errorf("vector norm² = %v, want 1", norm)
				}
			}
		}
	}
}

func TestEmbeddingsDeterministic(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	req := embeddingsRequest(t, map[string]any{"model": "text-embedding-3-small", "input": []string{"a", "b", "a"}})
	_, first := send(t, srv, http.MethodPost, "/v1/embeddings", req)
	_, second := send(t, srv, http.MethodPost, "/v1/embeddings", req)
	r1 := decodeJSON[embeddingsResponse[[]float64]](t, first)
	r2 := decodeJSON[embeddingsResponse[[]float64]](t, second)
	if !slices.Equal(r1.Data[0].Embedding, r2.Data[0].Embedding) || !slices.Equal(r1.Data[0].Embedding, r1.Data[2].Embedding) {
		t.Errorf("equal inputs got different vectors")
	}
	if slices.Equal(r1.Data[0].Embedding, r1.Data[1].Embedding) {
		t.Errorf("different inputs got equal vectors")
	}
}

func TestEmbeddingsValidation(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		param  string
	}{
		{"bad json", `{"model":`, 400, ""},
		{"missing model", `{"input":"x"}`, 400, ""},
		{"missing input", `{"model":"text-embedding-3-small"}`, 400, "input"},
		{"empty input", `{"model":"text-embedding-3-small","input":[]}`, 400, "input"},
		{"input of wrong type", `{"model":"text-embedding-3-small","input":{"a":1}}`, 400, "input"},
		{"mixed input", `{"model":"text-embedding-3-small","input":["a",{}]}`, 400, "input"},
		{"bad format", `{"model":"text-embedding-3-small","input":"x","encoding_format":"hex"}`, 400, "encoding_format"},
		{"zero dimensions", `{"model":"text-embedding-3-small","input":"x","dimensions":0}`, 400, "dimensions"},
		{"unknown model", `{"model":"unknown-embedder","input":"x"}`, 404, ""},
	}
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := send(t, srv, http.MethodPost, "/v1/embeddings", []byte(tt.body))
			e := decodeJSON[apiErrorBody](t, got)
			if resp.StatusCode != tt.status || deref(e.Error.Param) != tt.param || e.Error.Message == "" {
				t.Errorf("status %d, param %q: %s", resp.StatusCode, deref(e.Error.Param), got)
			}
		})
	}
}
