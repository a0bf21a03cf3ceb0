package aigne

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
)

// OutputOptions say how a canonical answer becomes an AIGNE output.
type OutputOptions struct {
	// JSON parses the answer's text as the structured output "json" (the
	// request had responseFormat json_schema). Text that is not a JSON
	// object stays "text".
	JSON bool
	// Credits, when not nil, is what the call was charged, in
	// micro-credits; it is reported as usage.aigneHubCredits (in credits),
	// as AIGNE Hub adds it when it bills. Nil reports no credits.
	Credits *int64
}

// chatOutput is a ChatModelOutput (@aigne/core agents/chat-model.js,
// chatModelOutputSchema, lines 411–419): text, thoughts, json, toolCalls
// (arguments an object), usage and model. Empty members are left out, as
// the client's agentResponseStreamToObject leaves out empty text.
type chatOutput struct {
	Text      string           `json:"text,omitempty"`
	Thoughts  string           `json:"thoughts,omitempty"`
	JSON      json.RawMessage  `json:"json,omitempty"`
	ToolCalls []outputToolCall `json:"toolCalls,omitempty"`
	Usage     *outputUsage     `json:"usage,omitempty"`
	Model     string           `json:"model,omitempty"`
}

type outputToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// outputUsage is chatModelOutputUsageSchema (chat-model.js, lines
// 403–410), filled as @aigne/openai does (openai-chat-model.js, lines
// 287–301): inputTokens = prompt tokens (cached included),
// cacheReadInputTokens = cached tokens, cacheCreationInputTokens = cache
// writes.
type outputUsage struct {
	InputTokens              int64       `json:"inputTokens"`
	OutputTokens             int64       `json:"outputTokens"`
	CacheCreationInputTokens int64       `json:"cacheCreationInputTokens,omitempty"`
	CacheReadInputTokens     int64       `json:"cacheReadInputTokens,omitempty"`
	AIGNEHubCredits          json.Number `json:"aigneHubCredits,omitempty"`
}

func newUsage(u *abi.Usage, credits *int64) *outputUsage {
	out := &outputUsage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheCreationInputTokens: u.CacheWriteTokens, CacheReadInputTokens: u.CachedTokens}
	if credits != nil {
		out.AIGNEHubCredits = json.Number(Decimal(*credits, 6))
	}
	return out
}

var errNotCompletion = errors.New("aigne: the canonical response is not a chat completion object")

// ChatOutput converts a canonical chat.completion (the first choice) to the
// ChatModelOutput that POST /api/v2/chat answers, which the client's
// BaseClient returns as the model's output (base-client.js, lines 56–58).
// reasoning_content becomes thoughts; tool-call arguments are parsed into
// objects (see [ToolArguments]).
func ChatOutput(canonical []byte, o OutputOptions) ([]byte, error) {
	root := gjson.ParseBytes(canonical)
	if !root.IsObject() {
		return nil, errNotCompletion
	}
	msg := root.Get("choices.0.message")
	out := chatOutput{Model: root.Get("model").String(), Thoughts: msg.Get("reasoning_content").String()}
	text := msg.Get("content").String()
	if o.JSON {
		if obj, ok := jsonObject(text); ok {
			out.JSON = obj
			text = ""
		}
	}
	out.Text = text
	msg.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		var c outputToolCall
		c.ID, c.Type = tc.Get("id").String(), "function"
		c.Function.Name = tc.Get("function.name").String()
		c.Function.Arguments = ToolArguments(tc.Get("function.arguments").String())
		out.ToolCalls = append(out.ToolCalls, c)
		return true
	})
	if u := root.Get("usage"); u.IsObject() {
		out.Usage = newUsage(oai.ParseUsage(u), o.Credits)
	}
	return marshal(&out)
}

// ToolArguments converts a canonical arguments string to the object AIGNE
// tool calls carry: the parsed object; {} for empty arguments; and, for
// arguments that are not a JSON object, {"_raw": "<arguments>"} (the
// choice shared/fixtures/MAPPING.md §5 offers), which the client's schema
// check then reports.
func ToolArguments(args string) json.RawMessage {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}")
	}
	if obj, ok := jsonObject(args); ok {
		return obj
	}
	return append(oai.AppendString([]byte(`{"_raw":`), args), '}')
}

// jsonObject returns s compacted when it is one JSON object.
func jsonObject(s string) (json.RawMessage, bool) {
	t := strings.TrimSpace(s)
	if len(t) == 0 || t[0] != '{' || !json.Valid([]byte(t)) {
		return nil, false
	}
	var buf bytes.Buffer
	json.Compact(&buf, []byte(t))
	return buf.Bytes(), true
}

// Decimal writes v / 10^scale exactly, without trailing zeros: Decimal(2500,
// 6) is "0.0025". It is how micro-credits (scale 6) and per-token rates
// from per-million micro-credits (scale 12) are shown.
func Decimal(v int64, scale int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-scale], strings.TrimRight(digits[len(digits)-scale:], "0")
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}
