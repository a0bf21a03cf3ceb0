package aigne

import (
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/oai"
)

// The legacy chat format of POST /api/v2/chat/completions (and
// /api/v2/completions), used by @blocklet/aigne-hub's chatCompletionsV2 and
// older AIGNE apps. Its request is camelCase (AIGNE Hub
// blocklets/core/api/src/libs/ai-routes.ts, completionsRequestSchema), its
// answer one of three shapes chosen by the request (processChatCompletion
// in the same file):
//
//   - Accept: text/event-stream (what chatCompletionsV2 always sends): SSE,
//     "data: <json>\n\n" events, whatever "stream" says:
//     {"delta":{"role":"assistant","content":"…","toolCalls":[]}} per text
//     delta, {"delta":{"role":"assistant","toolCalls":[…]}} with the whole
//     tool calls (arguments as strings), {"usage":{"promptTokens",
//     "completionTokens","totalTokens"}}, and errors as
//     {"error":{"message","type"}} events, also before the first delta
//     (with status 200, as AIGNE Hub's error handler answers event-stream
//     requests). No terminator.
//   - "stream": true without that Accept: the bare text, chunk by chunk;
//     an error is "ERROR: <message>".
//   - otherwise one JSON object {"role":"assistant","text","content",
//     "toolCalls"}.

// LegacyMode is the answer shape of a legacy chat request.
type LegacyMode int

const (
	// LegacyJSON is one JSON object.
	LegacyJSON LegacyMode = iota
	// LegacyEvents is an SSE stream of chunks.
	LegacyEvents
	// LegacyText is the bare text, streamed.
	LegacyText
)

// Legacy is a legacy chat request converted to the canonical form.
type Legacy struct {
	// Body is the canonical chat-completions request.
	Body []byte
	// Model is the model the client named.
	Model string
	// Mode is the answer's shape; the canonical call streams unless it is
	// LegacyJSON.
	Mode LegacyMode
}

// legacyBody is completionsRequestSchema: model; prompt or messages;
// stream; temperature 0–2, topP 0.1–1, presencePenalty and
// frequencyPenalty −2–2, maxTokens ≥ 1; tools, toolChoice and
// responseFormat as in the AIGNE format.
type legacyBody struct {
	Model            string          `json:"model"`
	Prompt           *string         `json:"prompt"`
	Messages         json.RawMessage `json:"messages"`
	Stream           *bool           `json:"stream"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"topP"`
	PresencePenalty  *float64        `json:"presencePenalty"`
	FrequencyPenalty *float64        `json:"frequencyPenalty"`
	MaxTokens        json.RawMessage `json:"maxTokens"`
	Tools            []inputTool     `json:"tools"`
	ToolChoice       json.RawMessage `json:"toolChoice"`
	ResponseFormat   *responseFormat `json:"responseFormat"`
}

// legacyMessage is a message of the legacy format (types/chat.ts,
// ChatCompletionInput): role system | user | assistant | tool; user content
// a string or text and image_url parts; assistant toolCalls with string
// arguments; tool messages with toolCallId.
type legacyMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  []inputToolCall `json:"toolCalls"`
	ToolCallID string          `json:"toolCallId"`
}

// legacyPart is {type:"text",text} or {type:"image_url",imageUrl:{url}}
// (image_url:{url} is accepted too).
type legacyPart struct {
	Type          string        `json:"type"`
	Text          *string       `json:"text"`
	ImageURL      *canonicalURL `json:"imageUrl"`
	ImageURLSnake *canonicalURL `json:"image_url"`
}

// LegacyToCanonical converts a legacy chat body; events says the client
// accepts text/event-stream.
func LegacyToCanonical(body []byte, events bool) (Legacy, *apierr.Error) {
	var b legacyBody
	if aerr := decodeObject(body, &b); aerr != nil {
		return Legacy{}, aerr
	}
	if b.Model == "" {
		return Legacy{}, apierr.BadRequest("model", "Missing required parameter: 'model'.")
	}
	out := Legacy{Model: b.Model}
	switch {
	case events:
		out.Mode = LegacyEvents
	case b.Stream != nil && *b.Stream:
		out.Mode = LegacyText
	}
	for _, chk := range []*apierr.Error{
		numberIn("temperature", b.Temperature, 0, 2),
		numberIn("topP", b.TopP, 0.1, 1),
		numberIn("presencePenalty", b.PresencePenalty, -2, 2),
		numberIn("frequencyPenalty", b.FrequencyPenalty, -2, 2),
	} {
		if chk != nil {
			return Legacy{}, chk
		}
	}
	c := canonicalChat{Model: b.Model, Temperature: b.Temperature, TopP: b.TopP,
		PresencePenalty: b.PresencePenalty, FrequencyPenalty: b.FrequencyPenalty}
	if out.Mode != LegacyJSON {
		c.Stream = true
		c.StreamOptions = &canonicalStreamOptions{IncludeUsage: true}
	}
	hasMessages := !isNull(b.Messages)
	switch {
	case b.Prompt != nil && hasMessages:
		return Legacy{}, apierr.BadRequest("prompt", "Send either 'prompt' or 'messages', not both.")
	case b.Prompt != nil:
		c.Messages = []canonicalMessage{{Role: "user", Content: *b.Prompt}}
	case !hasMessages:
		return Legacy{}, apierr.BadRequest("messages", "Missing required parameter: 'messages' (or 'prompt').")
	default:
		var msgs []legacyMessage
		if err := json.Unmarshal(b.Messages, &msgs); err != nil {
			aerr := decodeError(err)
			if aerr.Param == "" || jsonKind(b.Messages) != "an array" {
				aerr = invalidType("messages", "an array of messages", jsonKind(b.Messages))
			}
			return Legacy{}, aerr
		}
		if len(msgs) == 0 {
			return Legacy{}, apierr.BadRequest("messages", "Invalid 'messages': expected a non-empty array of messages.")
		}
		for i := range msgs {
			m, aerr := convertLegacyMessage(at("messages", i), &msgs[i])
			if aerr != nil {
				return Legacy{}, aerr
			}
			c.Messages = append(c.Messages, m)
		}
	}
	if aerr := convertTools(&c, "", b.Tools, b.ToolChoice, nil); aerr != nil {
		return Legacy{}, aerr
	}
	var aerr *apierr.Error
	if _, aerr = convertResponseFormat(&c, "", b.ResponseFormat, true); aerr != nil {
		return Legacy{}, aerr
	}
	if c.MaxCompletionTokens, aerr = maxTokens("maxTokens", b.MaxTokens); aerr != nil {
		return Legacy{}, aerr
	}
	var err error
	if out.Body, err = marshal(&c); err != nil {
		return Legacy{}, apierr.Internal(err)
	}
	return out, nil
}

var legacyRoles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true}

func convertLegacyMessage(param string, m *legacyMessage) (canonicalMessage, *apierr.Error) {
	if !legacyRoles[m.Role] {
		if m.Role == "" {
			return canonicalMessage{}, apierr.BadRequest(param+".role", "Missing required parameter: '"+param+".role'.")
		}
		return canonicalMessage{}, apierr.BadRequest(param+".role", "Invalid value: '"+m.Role+"'. Supported values are: 'system', 'user', 'assistant' and 'tool'.")
	}
	out := canonicalMessage{Role: m.Role, Name: m.Name, Content: ""}
	var s string
	switch {
	case isNull(m.Content):
		if m.Role == "assistant" {
			out.Content = nil
		}
	case json.Unmarshal(m.Content, &s) == nil:
		out.Content = s
	case jsonKind(m.Content) == "an array" && m.Role == "user":
		var parts []legacyPart
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return out, invalidType(param+".content", "an array of text and image_url parts", "another array")
		}
		cp := make([]canonicalPart, 0, len(parts))
		for i, p := range parts {
			pp := at(param+".content", i)
			switch p.Type {
			case "text":
				if p.Text == nil {
					return out, apierr.BadRequest(pp+".text", "Missing required parameter: '"+pp+".text'.")
				}
				cp = append(cp, canonicalPart{Type: "text", Text: p.Text})
			case "image_url":
				u := p.ImageURL
				if u == nil {
					u = p.ImageURLSnake
				}
				if u == nil || u.URL == "" {
					return out, apierr.BadRequest(pp+".imageUrl.url", "Missing required parameter: '"+pp+".imageUrl.url'.")
				}
				cp = append(cp, canonicalPart{Type: "image_url", ImageURL: &canonicalURL{URL: u.URL}})
			default:
				return out, apierr.BadRequest(pp+".type", "Invalid value: '"+p.Type+"'. Supported values are: 'text' and 'image_url'.")
			}
		}
		out.Content = cp
	default:
		want := "a string"
		if m.Role == "user" {
			want = "a string or an array"
		}
		return out, invalidType(param+".content", want, jsonKind(m.Content))
	}
	switch m.Role {
	case "assistant":
		var aerr *apierr.Error
		if out.ToolCalls, aerr = convertToolCalls(param+".toolCalls", m.ToolCalls); aerr != nil {
			return out, aerr
		}
		if out.Content == nil && len(out.ToolCalls) == 0 {
			out.Content = ""
		}
	case "tool":
		if m.ToolCallID == "" {
			return out, apierr.BadRequest(param+".toolCallId", "Missing required parameter: '"+param+".toolCallId'.")
		}
		out.ToolCallID, out.Name = m.ToolCallID, ""
	}
	return out, nil
}

// legacyToolCall is a tool call of a legacy answer: arguments a string.
type legacyToolCall struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Function canonicalFunction `json:"function"`
}

// LegacyOutput converts a canonical chat.completion to the legacy JSON
// answer {"role":"assistant","text","content","toolCalls"} (toolCalls only
// when there are some).
func LegacyOutput(canonical []byte) ([]byte, error) {
	root := gjson.ParseBytes(canonical)
	if !root.IsObject() {
		return nil, errNotCompletion
	}
	msg := root.Get("choices.0.message")
	content := msg.Get("content").String()
	out := struct {
		Role      string           `json:"role"`
		Text      string           `json:"text"`
		Content   string           `json:"content"`
		ToolCalls []legacyToolCall `json:"toolCalls,omitempty"`
	}{Role: "assistant", Text: content, Content: content}
	msg.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		args := tc.Get("function.arguments").String()
		if args == "" {
			args = "{}"
		}
		out.ToolCalls = append(out.ToolCalls, legacyToolCall{ID: tc.Get("id").String(), Type: "function",
			Function: canonicalFunction{Name: tc.Get("function.name").String(), Arguments: args}})
		return true
	})
	return marshal(&out)
}

// LegacyStreamEncoder turns canonical chunks into a LegacyEvents or
// LegacyText stream, as AIGNE Hub's adaptStreamToOldFormat
// (blocklets/core/api/src/providers/util.ts) and processChatCompletion
// write them. It is for one stream, not for concurrent use.
type LegacyStreamEncoder struct {
	text  bool
	calls StreamEncoder // gathers tool-call deltas
}

// NewLegacyStreamEncoder returns an encoder for mode (LegacyEvents or
// LegacyText).
func NewLegacyStreamEncoder(mode LegacyMode) *LegacyStreamEncoder {
	return &LegacyStreamEncoder{text: mode == LegacyText}
}

// Chunk appends what one canonical chunk becomes.
func (e *LegacyStreamEncoder) Chunk(dst, chunk []byte) []byte {
	root := gjson.ParseBytes(chunk)
	root.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		if ch.Get("index").Int() != 0 {
			return true
		}
		d := ch.Get("delta")
		if c := d.Get("content").String(); c != "" {
			if e.text {
				dst = append(dst, c...)
			} else {
				dst = append(dst, `data: {"delta":{"role":"assistant","content":`...)
				dst = oai.AppendString(dst, c)
				dst = append(dst, `,"toolCalls":[]}}`+"\n\n"...)
			}
		}
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			e.calls.addCall(tc)
			return true
		})
		return true
	})
	if u := root.Get("usage"); u.IsObject() && !e.text {
		pu := oai.ParseUsage(u)
		dst = append(dst, `data: {"usage":{"promptTokens":`...)
		dst = strconv.AppendInt(dst, pu.InputTokens, 10)
		dst = append(dst, `,"completionTokens":`...)
		dst = strconv.AppendInt(dst, pu.OutputTokens, 10)
		dst = append(dst, `,"totalTokens":`...)
		dst = strconv.AppendInt(dst, pu.InputTokens+pu.OutputTokens, 10)
		dst = append(dst, "}}\n\n"...)
	}
	return dst
}

// Done appends the end of a successful stream: the tool calls, whole.
func (e *LegacyStreamEncoder) Done(dst []byte) []byte {
	calls := e.calls.calls
	if e.text || len(calls) == 0 {
		return dst
	}
	dst = append(dst, `data: {"delta":{"role":"assistant","toolCalls":[`...)
	for i, c := range calls {
		if i > 0 {
			dst = append(dst, ',')
		}
		args := string(c.args)
		if args == "" {
			args = "{}"
		}
		dst = append(dst, `{"id":`...)
		dst = oai.AppendString(dst, c.id)
		dst = append(dst, `,"type":"function","function":{"name":`...)
		dst = oai.AppendString(dst, c.name)
		dst = append(dst, `,"arguments":`...)
		dst = oai.AppendString(dst, args)
		dst = append(dst, "}}"...)
	}
	e.calls.calls = calls[:0]
	return append(dst, "]}}\n\n"...)
}

// AppendLegacyError appends a legacy stream's error: an SSE
// {"error":{"message","type"}} event (which chatCompletionsV2 turns into an
// Error with that message and type), or "ERROR: <message>" in text mode.
func AppendLegacyError(dst []byte, mode LegacyMode, e *apierr.Error) []byte {
	if mode == LegacyText {
		return append(append(dst, "ERROR: "...), e.Message...)
	}
	return appendData(dst, AppendErrorBody(nil, e))
}
