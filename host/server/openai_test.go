package server

import (
	"encoding/json"
	"testing"

	"github.com/aignehub/hub/host/proxy"
)

func TestParseChat(t *testing.T) {
	for _, tt := range []struct {
		name, body    string
		param         string // "" with ok=true means valid
		ok            bool
		stream, usage bool
	}{
		{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "", true, false, false},
		{"parts content", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, "", true, false, false},
		{"null content", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[]}]}`, "", true, false, false},
		{"stream", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}`, "", true, true, false},
		{"stream usage", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`, "", true, true, true},
		{"whitespace", " \n{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n", "", true, false, false},
		{"duplicate model", `{"model":"m","messages":[{"role":"user","content":"x"}],"model":"other"}`, "model", false, false, false},
		{"not JSON", `{"model"`, "", false, false, false},
		{"array", `[]`, "", false, false, false},
		{"no model", `{"messages":[]}`, "model", false, false, false},
		{"null model", `{"model":null,"messages":[]}`, "model", false, false, false},
		{"empty model", `{"model":"","messages":[]}`, "model", false, false, false},
		{"no messages", `{"model":"m"}`, "messages", false, false, false},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", false, false, false},
		{"messages object", `{"model":"m","messages":{}}`, "messages", false, false, false},
		{"message not object", `{"model":"m","messages":["hi"]}`, "messages[0]", false, false, false},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role", false, false, false},
		{"bad role", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"bot","content":"x"}]}`, "messages[1].role", false, false, false},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", false, false, false},
		{"temperature", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"1"}`, "temperature", false, false, false},
		{"n float", `{"model":"m","messages":[{"role":"user","content":"x"}],"n":1.5}`, "n", false, false, false},
		{"stream string", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"true"}`, "stream", false, false, false},
		{"tools object", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":{}}`, "tools", false, false, false},
		{"stop number", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":1}`, "stop", false, false, false},
		{"tool_choice number", `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":1}`, "tool_choice", false, false, false},
		{"response_format string", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"json"}`, "response_format", false, false, false},
		{"stream_options without stream", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, "stream_options", false, false, false},
		{"include_usage string", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":"yes"}}`, "stream_options.include_usage", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseChat([]byte(tt.body))
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if req.model != "m" || req.stream != tt.stream || req.includeUsage != tt.usage {
					t.Fatalf("got %+v", req)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if err.Status != 400 || err.Param != tt.param || err.Message == "" {
				t.Fatalf("got %+v", err)
			}
		})
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","content":[{"type":"text","text":"x"}]}],"temperature":0.2,"n":1}`))
	f.Add([]byte(`[{"model":1}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseChat(body)
		if err != nil {
			if err.Status != 400 || err.Message == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		// Whatever the hub accepts is a JSON object with a string model.
		var v map[string]any
		if jerr := json.Unmarshal(body, &v); jerr != nil {
			t.Fatalf("accepted a body encoding/json rejects: %v", jerr)
		}
		if m, ok := v["model"].(string); !ok || m != req.model {
			t.Fatalf("model %q vs %v", req.model, v["model"])
		}
		// The limits handed to billing are the body's.
		if want := wantLimits(v); req.limits != want {
			t.Fatalf("limits %+v, want %+v", req.limits, want)
		}
	})
}

// wantLimits is what parseChat should read from a decoded accepted body:
// max_completion_tokens when positive, else max_tokens when positive.
func wantLimits(v map[string]any) proxy.Limits {
	l := proxy.Limits{Known: true}
	for _, f := range []string{"max_completion_tokens", "max_tokens"} {
		if n, ok := v[f].(float64); ok && n > 0 {
			l.MaxOutputTokens = int64(n)
			break
		}
	}
	return l
}

// TestParseChatLimits: the output limit billing holds for comes from the
// body as validated.
func TestParseChatLimits(t *testing.T) {
	for _, tt := range []struct {
		extra string
		want  int64
	}{
		{``, 0},
		{`,"max_tokens":300`, 300},
		{`,"max_completion_tokens":200`, 200},
		{`,"max_tokens":300,"max_completion_tokens":200`, 200},
		{`,"max_completion_tokens":0,"max_tokens":300`, 300},
		{`,"max_completion_tokens":null,"max_tokens":300`, 300},
		{`,"max_tokens":-5`, 0},
		{`,"max_tokens":null`, 0},
		{`,"n":4,"seed":99`, 0},
		{`,"max_tokens":9007199254740991`, 9007199254740991},
	} {
		body := `{"model":"m","messages":[{"role":"user","content":"x"}]` + tt.extra + `}`
		req, err := parseChat([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if want := (proxy.Limits{Known: true, MaxOutputTokens: tt.want}); req.limits != want {
			t.Errorf("%s: limits %+v, want %+v", body, req.limits, want)
		}
	}
}
