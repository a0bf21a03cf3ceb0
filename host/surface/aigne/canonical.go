package aigne

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/aignehub/hub/host/apierr"
)

// The canonical chat-completions request (OpenAI's JSON) as both AIGNE chat
// formats build it. Only the members the hub sets are modelled; the
// non-standard cache_control (on content parts) and top_k are the hub's
// canonical extensions that the anthropic, gemini, bedrock and ollama
// plugins read.
type canonicalChat struct {
	Model               string                   `json:"model"`
	Messages            []canonicalMessage       `json:"messages"`
	Stream              bool                     `json:"stream,omitempty"`
	StreamOptions       *canonicalStreamOptions  `json:"stream_options,omitempty"`
	Temperature         *float64                 `json:"temperature,omitempty"`
	TopP                *float64                 `json:"top_p,omitempty"`
	TopK                *float64                 `json:"top_k,omitempty"`
	FrequencyPenalty    *float64                 `json:"frequency_penalty,omitempty"`
	PresencePenalty     *float64                 `json:"presence_penalty,omitempty"`
	MaxCompletionTokens *int64                   `json:"max_completion_tokens,omitempty"`
	ReasoningEffort     string                   `json:"reasoning_effort,omitempty"`
	Tools               []canonicalTool          `json:"tools,omitempty"`
	ToolChoice          any                      `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool                    `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *canonicalResponseFormat `json:"response_format,omitempty"`
}

type canonicalStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type canonicalMessage struct {
	Role string `json:"role"`
	// Content is a string, []canonicalPart, or nil (JSON null).
	Content    any                 `json:"content"`
	Name       string              `json:"name,omitempty"`
	ToolCalls  []canonicalToolCall `json:"tool_calls,omitempty"`
	ToolCallID string              `json:"tool_call_id,omitempty"`
}

type canonicalPart struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text,omitempty"`
	ImageURL     *canonicalURL   `json:"image_url,omitempty"`
	File         *canonicalFile  `json:"file,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type canonicalURL struct {
	URL string `json:"url"`
}

type canonicalFile struct {
	FileData string `json:"file_data"`
	Filename string `json:"filename,omitempty"`
}

type canonicalToolCall struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Function canonicalFunction `json:"function"`
}

type canonicalFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type canonicalTool struct {
	Type     string           `json:"type"`
	Function canonicalToolDef `json:"function"`
}

type canonicalToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type canonicalResponseFormat struct {
	Type       string               `json:"type"`
	JSONSchema *canonicalJSONSchema `json:"json_schema,omitempty"`
}

type canonicalJSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	Strict      *bool           `json:"strict,omitempty"`
}

// The AIGNE shapes shared by both chat formats.

// inputTool is a tool definition: {type:"function", function:{name,
// description, parameters}} (@aigne/core chat-model.js
// chatModelInputToolSchema; the legacy format's Joi schema is the same).
type inputTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// inputToolCall is a tool call in the history. AIGNE sends arguments as an
// object; the legacy format as a string.
type inputToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// responseFormat is {type:"text"} or {type:"json_schema", jsonSchema:{name,
// description, schema, strict}}; the legacy format also has json_object.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"jsonSchema"`
}

// emptyParameters is the parameters of a tool that declares none.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// convertTools converts tools, tool choice and parallel tool calls. As
// OpenAI rejects tool_choice and parallel_tool_calls without tools, both
// are dropped when there are none.
func convertTools(c *canonicalChat, param string, tools []inputTool, choice json.RawMessage, parallel *bool) *apierr.Error {
	for i, t := range tools {
		p := at(param+"tools", i)
		if t.Type != "" && t.Type != "function" {
			return apierr.BadRequest(p+".type", "Invalid value: '"+t.Type+"'. Supported values are: 'function'.")
		}
		if t.Function.Name == "" {
			return apierr.BadRequest(p+".function.name", "Missing required parameter: '"+p+".function.name'.")
		}
		params := t.Function.Parameters
		switch {
		case isNull(params):
			params = emptyParameters
		case jsonKind(params) != "an object":
			return invalidType(p+".function.parameters", "an object", jsonKind(params))
		}
		c.Tools = append(c.Tools, canonicalTool{Type: "function", Function: canonicalToolDef{
			Name: t.Function.Name, Description: t.Function.Description, Parameters: params}})
	}
	if len(c.Tools) == 0 {
		return nil
	}
	c.ParallelToolCalls = parallel
	if isNull(choice) {
		return nil
	}
	var s string
	if json.Unmarshal(choice, &s) == nil {
		switch s {
		case "auto", "none", "required":
			c.ToolChoice = s
			return nil
		}
		return apierr.BadRequest(param+"toolChoice", "Invalid value: '"+s+"'. Supported values are: 'auto', 'none', 'required' or a tool.")
	}
	var t inputTool
	if jsonKind(choice) != "an object" || json.Unmarshal(choice, &t) != nil || t.Function.Name == "" {
		return apierr.BadRequest(param+"toolChoice", "Invalid 'toolChoice': expected 'auto', 'none', 'required' or a tool {type, function:{name}}.")
	}
	c.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": t.Function.Name}}
	return nil
}

// convertResponseFormat converts a response format; it reports whether the
// answer is to be parsed as JSON (json_schema).
func convertResponseFormat(c *canonicalChat, param string, rf *responseFormat, allowJSONObject bool) (jsonMode bool, aerr *apierr.Error) {
	if rf == nil {
		return false, nil
	}
	switch rf.Type {
	case "", "text":
		return false, nil
	case "json_object":
		if allowJSONObject {
			c.ResponseFormat = &canonicalResponseFormat{Type: "json_object"}
			return false, nil
		}
	case "json_schema":
		js := rf.JSONSchema
		p := param + "responseFormat.jsonSchema"
		switch {
		case js == nil:
			return false, apierr.BadRequest(p, "Missing required parameter: '"+p+"'.")
		case js.Name == "":
			return false, apierr.BadRequest(p+".name", "Missing required parameter: '"+p+".name'.")
		case jsonKind(js.Schema) != "an object":
			return false, invalidType(p+".schema", "an object", jsonKind(js.Schema))
		}
		c.ResponseFormat = &canonicalResponseFormat{Type: "json_schema", JSONSchema: &canonicalJSONSchema{
			Name: js.Name, Description: js.Description, Schema: js.Schema, Strict: js.Strict}}
		return true, nil
	}
	return false, apierr.BadRequest(param+"responseFormat.type", "Invalid value: '"+rf.Type+"'. Supported values are: 'text' and 'json_schema'.")
}

// convertToolCalls converts the tool calls of an assistant turn. Arguments
// are an object (AIGNE) or already a string (legacy); anything else is
// sent as its JSON text, and absent arguments as "{}".
func convertToolCalls(param string, calls []inputToolCall) ([]canonicalToolCall, *apierr.Error) {
	var out []canonicalToolCall
	for i, tc := range calls {
		p := at(param, i)
		if tc.ID == "" {
			return nil, apierr.BadRequest(p+".id", "Missing required parameter: '"+p+".id'.")
		}
		if tc.Function.Name == "" {
			return nil, apierr.BadRequest(p+".function.name", "Missing required parameter: '"+p+".function.name'.")
		}
		args := "{}"
		if raw := tc.Function.Arguments; !isNull(raw) {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				args = s
			} else {
				var buf bytes.Buffer
				json.Compact(&buf, raw) // raw is valid: it was decoded
				args = buf.String()
			}
		}
		out = append(out, canonicalToolCall{ID: tc.ID, Type: "function", Function: canonicalFunction{Name: tc.Function.Name, Arguments: args}})
	}
	return out, nil
}

// dataURL makes a data URL from a MIME type and base64 data.
func dataURL(mime, data string) string {
	return "data:" + mime + ";base64," + data
}

// isImage reports whether a MIME type is an image type (or unknown, which
// AIGNE's OpenAI model sends as an image).
func isImage(mime string) bool { return mime == "" || strings.HasPrefix(mime, "image/") }
