package aigne

import (
	"encoding/json"
	"math"

	"github.com/aignehub/hub/host/apierr"
)

// ChatModelAgent is the agent name @aigne/transport sends for a chat model
// (constants.js: ChatModelName = "$CHAT_MODEL").
const ChatModelAgent = "$CHAT_MODEL"

// Chat is a POST /api/v2/chat request converted to the canonical form.
type Chat struct {
	// Body is the canonical chat-completions request.
	Body []byte
	// Model is the model the client named (input.modelOptions.model).
	Model string
	// Stream is options.streaming: the answer is an SSE stream of deltas.
	Stream bool
	// JSON says the client asked for structured output (responseFormat
	// json_schema): the answer's text is returned parsed, as "json".
	JSON bool
}

// invokeBody is the body @aigne/transport's BaseClient.__invoke posts
// (http-client/base-client.js, lines 39–48): {input, agent, options}, with
// options picked to returnProgressChunks, userContext, memories and
// streaming. Old clients put the model in the body instead of
// input.modelOptions.model (AIGNE Hub's routes/v2.ts reads both).
type invokeBody struct {
	Input   *chatInput `json:"input"`
	Agent   *string    `json:"agent"`
	Model   string     `json:"model"`
	Options *struct {
		Streaming *bool `json:"streaming"`
	} `json:"options"`
}

// chatInput is a ChatModelInput (@aigne/core agents/chat-model.js,
// chatModelInputSchema, lines 387–393), after the client's ChatModel
// preprocessing: tool names normalized, model options resolved, "local"
// files read into "file" parts.
type chatInput struct {
	Messages       []inputMessage  `json:"messages"`
	ResponseFormat *responseFormat `json:"responseFormat"`
	Tools          []inputTool     `json:"tools"`
	ToolChoice     json.RawMessage `json:"toolChoice"`
	ModelOptions   *modelOptions   `json:"modelOptions"`
}

// inputMessage is chatModelInputMessageSchema (chat-model.js, lines
// 279–297): role system | user | agent | tool; content a string or parts;
// toolCalls with object arguments; toolCallId; name; cacheControl.
type inputMessage struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	ToolCalls    []inputToolCall `json:"toolCalls"`
	ToolCallID   string          `json:"toolCallId"`
	Name         string          `json:"name"`
	CacheControl json.RawMessage `json:"cacheControl"`
}

// inputPart is a content part (unionContentSchema, chat-model.js lines
// 265–278, and model.js lines 119–134): text, url, file (base64) or local.
type inputPart struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text"`
	URL          string          `json:"url"`
	Data         string          `json:"data"`
	MimeType     string          `json:"mimeType"`
	Filename     string          `json:"filename"`
	Path         string          `json:"path"`
	CacheControl json.RawMessage `json:"cacheControl"`
}

// modelOptions is the part of modelOptionsSchema (chat-model.js, lines
// 345–376) with a canonical equivalent; the schema is passthrough, so
// maxTokens and topK, which some AIGNE models read, are taken too.
// modalities and cacheConfig have none and are dropped.
type modelOptions struct {
	Model             string          `json:"model"`
	Temperature       *float64        `json:"temperature"`
	TopP              *float64        `json:"topP"`
	TopK              *float64        `json:"topK"`
	FrequencyPenalty  *float64        `json:"frequencyPenalty"`
	PresencePenalty   *float64        `json:"presencePenalty"`
	ParallelToolCalls *bool           `json:"parallelToolCalls"`
	ReasoningEffort   json.RawMessage `json:"reasoningEffort"`
	MaxTokens         json.RawMessage `json:"maxTokens"`
}

// ChatToCanonical converts a POST /api/v2/chat body to the canonical
// request. Errors are 400s naming the offending member; an agent other
// than "$CHAT_MODEL" is a 404, as AIGNEHTTPServer answers.
func ChatToCanonical(body []byte) (Chat, *apierr.Error) {
	var b invokeBody
	if aerr := decodeObject(body, &b); aerr != nil {
		return Chat{}, aerr
	}
	if b.Agent != nil && *b.Agent != ChatModelAgent {
		return Chat{}, &apierr.Error{Status: 404, Type: apierr.TypeNotFound, Param: "agent", Message: "Agent " + *b.Agent + " not found"}
	}
	in := b.Input
	if in == nil {
		return Chat{}, apierr.BadRequest("input", "Missing required parameter: 'input'.")
	}
	mo := in.ModelOptions
	if mo == nil {
		mo = &modelOptions{}
	}
	out := Chat{Model: mo.Model}
	if out.Model == "" {
		out.Model = b.Model
	}
	if out.Model == "" {
		return Chat{}, apierr.BadRequest("input.modelOptions.model", "Missing required parameter: 'input.modelOptions.model'.")
	}
	out.Stream = b.Options != nil && b.Options.Streaming != nil && *b.Options.Streaming

	c := canonicalChat{Model: out.Model, Temperature: mo.Temperature, TopP: mo.TopP, TopK: mo.TopK,
		FrequencyPenalty: mo.FrequencyPenalty, PresencePenalty: mo.PresencePenalty}
	if out.Stream {
		c.Stream = true
		c.StreamOptions = &canonicalStreamOptions{IncludeUsage: true}
	}
	if len(in.Messages) == 0 {
		return Chat{}, apierr.BadRequest("input.messages", "Invalid 'input.messages': expected a non-empty array of messages.")
	}
	for i := range in.Messages {
		m, aerr := convertMessage(at("input.messages", i), &in.Messages[i])
		if aerr != nil {
			return Chat{}, aerr
		}
		c.Messages = append(c.Messages, m)
	}
	if aerr := convertTools(&c, "input.", in.Tools, in.ToolChoice, mo.ParallelToolCalls); aerr != nil {
		return Chat{}, aerr
	}
	var aerr *apierr.Error
	if out.JSON, aerr = convertResponseFormat(&c, "input.", in.ResponseFormat, false); aerr != nil {
		return Chat{}, aerr
	}
	if c.ReasoningEffort, aerr = reasoningEffort(mo.ReasoningEffort); aerr != nil {
		return Chat{}, aerr
	}
	if c.MaxCompletionTokens, aerr = maxTokens("input.modelOptions.maxTokens", mo.MaxTokens); aerr != nil {
		return Chat{}, aerr
	}
	var err error
	if out.Body, err = marshal(&c); err != nil {
		return Chat{}, apierr.Internal(err)
	}
	return out, nil
}

// roles maps AIGNE roles to canonical ones (@aigne/core utils/role-utils.js
// STANDARD_ROLE_MAP: agent → assistant). "assistant" is accepted as is.
var roles = map[string]string{"system": "system", "user": "user", "agent": "assistant", "assistant": "assistant", "tool": "tool"}

// convertMessage converts one message, as @aigne/openai's
// contentsFromInputMessages does (openai-chat-model.js, lines 377–410),
// except that a non-image file becomes a canonical file part rather than a
// mislabelled image, and cacheControl is kept as cache_control.
func convertMessage(param string, m *inputMessage) (canonicalMessage, *apierr.Error) {
	role, ok := roles[m.Role]
	if !ok {
		if m.Role == "" {
			return canonicalMessage{}, apierr.BadRequest(param+".role", "Missing required parameter: '"+param+".role'.")
		}
		return canonicalMessage{}, apierr.BadRequest(param+".role", "Invalid value: '"+m.Role+"'. Supported values are: 'system', 'user', 'agent' and 'tool'.")
	}
	out := canonicalMessage{Role: role, Name: m.Name}
	content, aerr := convertContent(param, m.Content, m.CacheControl)
	if aerr != nil {
		return out, aerr
	}
	out.Content = content
	switch role {
	case "assistant":
		if out.ToolCalls, aerr = convertToolCalls(param+".toolCalls", m.ToolCalls); aerr != nil {
			return out, aerr
		}
		if content == nil && len(out.ToolCalls) == 0 {
			out.Content = ""
		}
	case "tool":
		if m.ToolCallID == "" {
			return out, apierr.BadRequest(param+".toolCallId", "Missing required parameter: '"+param+".toolCallId'.")
		}
		out.ToolCallID = m.ToolCallID
		out.Name = ""
		if content == nil {
			out.Content = ""
		}
	default:
		if content == nil {
			out.Content = ""
		}
	}
	return out, nil
}

// convertContent converts message content: a string stays a string (or
// one text part, to carry the message's cacheControl); parts become
// canonical parts, the message's cacheControl on the last one.
func convertContent(param string, raw, msgCache json.RawMessage) (any, *apierr.Error) {
	param += ".content"
	if !isNull(msgCache) && jsonKind(msgCache) != "an object" {
		return nil, invalidType(param[:len(param)-len(".content")]+".cacheControl", "an object", jsonKind(msgCache))
	}
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if isNull(msgCache) {
			return s, nil
		}
		return []canonicalPart{{Type: "text", Text: &s, CacheControl: msgCache}}, nil
	}
	var parts []inputPart
	if jsonKind(raw) != "an array" {
		return nil, invalidType(param, "a string or an array", jsonKind(raw))
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		aerr := decodeError(err)
		aerr.Param = param
		aerr.Message = "Invalid '" + param + "': expected an array of content parts {type: text | url | file}."
		return nil, aerr
	}
	out := make([]canonicalPart, 0, len(parts))
	for i := range parts {
		p, aerr := convertPart(at(param, i), &parts[i])
		if aerr != nil {
			return nil, aerr
		}
		out = append(out, p)
	}
	if !isNull(msgCache) && len(out) > 0 && out[len(out)-1].CacheControl == nil {
		out[len(out)-1].CacheControl = msgCache
	}
	return out, nil
}

// convertPart converts one content part: text → text; url → image_url
// (by URL); file → image_url with a data URL for an image (or an unknown
// type, as image/png), else a file part with file_data; local → 400, as the
// hub cannot read the client's disk (the client's ChatModel reads local
// files into file parts before sending, so this only comes from other
// clients).
func convertPart(param string, p *inputPart) (canonicalPart, *apierr.Error) {
	cc := p.CacheControl
	if isNull(cc) {
		cc = nil
	} else if jsonKind(cc) != "an object" {
		return canonicalPart{}, invalidType(param+".cacheControl", "an object", jsonKind(cc))
	}
	switch p.Type {
	case "text":
		if p.Text == nil {
			return canonicalPart{}, apierr.BadRequest(param+".text", "Missing required parameter: '"+param+".text'.")
		}
		return canonicalPart{Type: "text", Text: p.Text, CacheControl: cc}, nil
	case "url":
		if p.URL == "" {
			return canonicalPart{}, apierr.BadRequest(param+".url", "Missing required parameter: '"+param+".url'.")
		}
		return canonicalPart{Type: "image_url", ImageURL: &canonicalURL{URL: p.URL}, CacheControl: cc}, nil
	case "file":
		if p.Data == "" {
			return canonicalPart{}, apierr.BadRequest(param+".data", "Missing required parameter: '"+param+".data'.")
		}
		if isImage(p.MimeType) {
			mime := p.MimeType
			if mime == "" {
				mime = "image/png"
			}
			return canonicalPart{Type: "image_url", ImageURL: &canonicalURL{URL: dataURL(mime, p.Data)}, CacheControl: cc}, nil
		}
		return canonicalPart{Type: "file", File: &canonicalFile{FileData: dataURL(p.MimeType, p.Data), Filename: p.Filename}, CacheControl: cc}, nil
	case "local":
		return canonicalPart{}, apierr.BadRequest(param+".type", "A 'local' file cannot be read by the hub; send it as a 'file' part (base64 data) or a 'url' part.")
	case "":
		return canonicalPart{}, apierr.BadRequest(param+".type", "Missing required parameter: '"+param+".type'.")
	}
	return canonicalPart{}, apierr.BadRequest(param+".type", "Invalid value: '"+p.Type+"'. Supported values are: 'text', 'url' and 'file'.")
}

// reasoningEffort converts modelOptions.reasoningEffort: a level string
// passes; a token budget maps as @aigne/openai's getReasoningEffort does
// (openai-chat-model.js, lines 98–110): above 5000 high, above 1000 medium,
// above 500 low, above 0 minimal, otherwise none set.
func reasoningEffort(raw json.RawMessage) (string, *apierr.Error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil {
		return "", invalidType("input.modelOptions.reasoningEffort", "a string or a number", jsonKind(raw))
	}
	switch {
	case n > 5000:
		return "high", nil
	case n > 1000:
		return "medium", nil
	case n > 500:
		return "low", nil
	case n > 0:
		return "minimal", nil
	}
	return "", nil
}

// maxTokens reads an optional positive integer.
func maxTokens(param string, raw json.RawMessage) (*int64, *apierr.Error) {
	if isNull(raw) {
		return nil, nil
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil || n != math.Trunc(n) || n < 1 || n > 1<<53 {
		return nil, apierr.BadRequest(param, "Invalid '"+param+"': expected a positive integer.")
	}
	v := int64(n)
	return &v, nil
}
