package anthropic

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestTextTokens(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"Hello, Claude", 4},        // Hello , Claude(2)
		{"You are a scientist", 5},  // scientist is 9 letters: 2
		{"1234567", 3},              // digits in threes
		{"你好世界", 4},                 // one per CJK character
		{"привет", 3},               // letters outside ASCII weigh 2
		{"a\n\nb", 3},               // a newline run is one
		{"    indented", 3},         // indentation is one
		{`{"city":"Paris"}`, 6},     // {" city ":"(2) Paris "}
		{"🙂!", 2},                   // a symbol, then punctuation
		{"\xff", 1},                 // invalid UTF-8 counts one
		{"don't", 3},                // don ' t
		{"internationalization", 4}, // 20 letters
	} {
		if got := textTokens(tt.in); got != tt.want {
			t.Errorf("textTokens(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	// Ordinary English prose: about 1.3 tokens a word for BPE tokenizers.
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog, and then it runs back home before the rain starts. ", 10)
	words := int64(len(strings.Fields(prose)))
	if n := textTokens(prose); n < words || n > words*16/10 {
		t.Fatalf("%d tokens for %d words", n, words)
	}
}

func TestImageTokens(t *testing.T) {
	for _, tt := range []struct {
		w, h int
		want int64
	}{
		{1, 1, 1},
		{200, 200, 54},
		{1000, 1000, 1334},
		{1092, 1092, 1590},      // Anthropic's table: 1092x1092 ≈ 1590
		{3000, 2000, 1600},      // scaled to 1568x1045, then capped
		{0, 10, maxImageTokens}, // unknown
	} {
		if got := imageTokensFor(tt.w, tt.h); got != tt.want {
			t.Errorf("imageTokensFor(%d, %d) = %d, want %d", tt.w, tt.h, got, tt.want)
		}
	}
}

func TestCountTokens(t *testing.T) {
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC" // 1x1
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj <</Type /Pages /Kids [2 0 R 3 0 R]>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page /Parent 1 0 R>>\n%%EOF"))
	for _, tt := range []struct {
		name, body string
		want       int64
	}{
		// Anthropic's documented example counts 14.
		{"documented example", `{"model":"m","system":"You are a scientist","messages":[{"role":"user","content":"Hello, Claude"}]}`, 3 + 5 + 3 + 4},
		{"max_tokens optional, allowed", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hello, Claude"}]}`, 3 + 3 + 4},
		{"system blocks", `{"model":"m","system":[{"type":"text","text":"You are a scientist"},{"type":"text","text":"Hello, Claude"}],"messages":[{"role":"user","content":"x"}]}`, 3 + 5 + 4 + 3 + 1},
		{"image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + png + `"}},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`, 3 + 3 + 1 + 1600},
		{"pdf", `{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"}}]}]}`, 3 + 3 + 2*3000},
		{"tools", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","description":"Get the weather","input_schema":{"type":"object"}}]}`, 3 + 3 + 1 + 346 + 5 + 1 + 4 + 7},
		{"forced tool", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","description":"Get the weather","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}}`, 3 + 3 + 1 + 313 + 5 + 1 + 4 + 7},
		{"tool use and result, thinking not counted", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"long long long thoughts","signature":"s"},{"type":"tool_use","id":"t","name":"f","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"rain"}]}]}`,
			3 + 3 + 1 + 3 + 5 + 1 + 6 + 3 + 5 + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, model, err := CountTokens([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want || model != "m" {
				t.Fatalf("got %d %q, want %d", n, model, tt.want)
			}
		})
	}
	for _, body := range []string{`{"model":`, `{"messages":[{"role":"user","content":"x"}]}`, `{"model":"m","messages":[{"role":"bot","content":"x"}]}`} {
		if _, _, err := CountTokens([]byte(body)); err == nil || err.Status != 400 {
			t.Fatalf("%s: %v", body, err)
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	body := []byte(`{"model":"m","max_tokens":5,"system":"You are a scientist","messages":[{"role":"user","content":"Hello, Claude"}]}`)
	n, _, err := CountTokens(body)
	if err != nil || EstimateTokens(body) != n || n == 0 {
		t.Fatalf("%d vs %d (%v)", EstimateTokens(body), n, err)
	}
	if EstimateTokens([]byte(`{`)) != 0 {
		t.Fatal("estimate of a bad body")
	}
}
