package main

import (
	"slices"
	"strconv"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// sampling are the canonical request's numeric parameters that Ollama takes
// under the same name in "options" (top_k is not OpenAI's, but clients of
// OpenAI-compatible servers send it).
var sampling = [...]string{"temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty"}

// chatRequest turns a canonical chat-completions request into the body of
// POST /api/chat, and returns the state flags.
func (p *plugin) chatRequest(in *abi.RequestIn) ([]byte, byte, error) {
	req := gjson.Parse(unsafeString(in.Body))
	if !req.IsObject() {
		return nil, 0, oai.BadRequest("", "the request body is not a JSON object")
	}
	stream := in.Flags&abi.FlagStream != 0
	var flags byte
	if stream {
		flags |= stStream
		if in.Flags&abi.FlagIncludeUsage != 0 {
			flags |= stWantUsage
		}
	}

	// One pass over the top-level members. The shared readers (MaxTokens,
	// Stop, ToolChoice) look their member up again, skipping over the whole
	// messages array: they are called only when their member is there.
	var model, messages, tools, format, effort, think, n gjson.Result
	var nums [len(sampling)]gjson.Result
	var hasMax, hasStop, hasChoice bool
	req.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v
		case "max_tokens", "max_completion_tokens":
			hasMax = true
		case "stop":
			hasStop = true
		case "tool_choice":
			hasChoice = true
		case "messages":
			messages = v
		case "tools":
			tools = v
		case "response_format":
			format = v
		case "reasoning_effort":
			effort = v
		case "think":
			think = v
		case "n":
			n = v
		default:
			if i := slices.Index(sampling[:], k.Str); i >= 0 {
				nums[i] = v
			}
		}
		return true
	})
	if n.Type == gjson.Number && n.Int() > 1 {
		return nil, 0, oai.BadRequest("n", "the ollama provider answers one choice: n must be 1")
	}
	if !messages.IsArray() || !hasElement(messages) {
		return nil, 0, oai.BadRequest("messages", "messages must be a non-empty array")
	}

	b := make([]byte, 0, len(in.Body)+128)
	b = append(b, `{"model":`...)
	b = oai.AppendString(b, upstreamModel(in.Model, model))
	b = append(b, `,"messages":[`...)
	var err error
	var names callNames
	i := 0
	messages.ForEach(func(_, m gjson.Result) bool {
		if i > 0 {
			b = append(b, ',')
		}
		b, err = appendMessage(b, m, i, messages, &names)
		i++
		return err == nil
	})
	if err != nil {
		return nil, 0, err
	}
	b = append(b, ']')

	mode, fname := oai.ChoiceUnset, ""
	if hasChoice {
		mode, fname = oai.ToolChoice(req)
	}
	if b, err = appendTools(b, mode, fname, tools); err != nil {
		return nil, 0, err
	}
	if b, err = appendFormat(b, format); err != nil {
		return nil, 0, err
	}

	s := p.settingsFor(in.Options)
	var haveBuf [16]string
	have := haveBuf[:0]
	var opts []byte
	member := func(name string) {
		if len(opts) > 0 {
			opts = append(opts, ',')
		}
		opts = oai.AppendKey(opts, name)
		have = append(have, name)
	}
	if hasMax {
		if maxTokens, ok := oai.MaxTokens(req); ok {
			member("num_predict")
			opts = oai.AppendInt(opts, maxTokens)
		}
	}
	for i, v := range nums {
		if v.Type == gjson.Number {
			member(sampling[i])
			opts = append(opts, v.Raw...)
		}
	}
	if stops := stopOf(req, hasStop); len(stops) > 0 {
		member("stop")
		opts = append(opts, '[')
		for i, stop := range stops {
			if i > 0 {
				opts = append(opts, ',')
			}
			opts = oai.AppendString(opts, stop)
		}
		opts = append(opts, ']')
	}
	opts = appendExtraOptions(opts, s, have)
	if len(opts) > 0 {
		b = append(b, `,"options":{`...)
		b = append(b, opts...)
		b = append(b, '}')
	}

	if stream {
		b = append(b, `,"stream":true`...)
	} else {
		b = append(b, `,"stream":false`...)
	}
	if s.keepAlive != "" {
		b = append(b, `,"keep_alive":`...)
		b = append(b, s.keepAlive...)
	}
	switch {
	case effort.Type == gjson.String:
		level, ok := thinkLevels[effort.Str]
		if !ok {
			return nil, 0, oai.BadRequest("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high, xhigh")
		}
		b = append(b, `,"think":`...)
		b = append(b, level...)
	case effort.Exists() && effort.Type != gjson.Null:
		return nil, 0, oai.BadRequest("reasoning_effort", "reasoning_effort must be a string")
	case think.IsBool() || think.Type == gjson.String: // non-standard: Ollama's own switch
		b = append(b, `,"think":`...)
		b = append(b, think.Raw...)
	}
	return append(b, '}'), flags, nil
}

// thinkLevels maps reasoning_effort to Ollama's "think" (raw JSON).
var thinkLevels = map[string]string{
	"none":    "false",
	"minimal": `"low"`,
	"low":     `"low"`,
	"medium":  `"medium"`,
	"high":    `"high"`,
	"xhigh":   `"high"`,
}

// upstreamModel is the model the host resolved, or, should it send none,
// the body's.
func upstreamModel(resolved string, body gjson.Result) string {
	if resolved == "" {
		return body.String()
	}
	return resolved
}

func hasElement(arr gjson.Result) bool {
	found := false
	arr.ForEach(func(_, _ gjson.Result) bool {
		found = true
		return false
	})
	return found
}

// appendMessage appends message i as an Ollama message.
func appendMessage(b []byte, m gjson.Result, i int, messages gjson.Result, names *callNames) ([]byte, error) {
	if !m.IsObject() {
		return b, oai.BadRequest(msgParam(i, ""), "a message must be an object")
	}
	var content, toolCalls, toolCallID, name, reasoning gjson.Result
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			content = v
		case "tool_calls":
			toolCalls = v
		case "tool_call_id":
			toolCallID = v
		case "name":
			name = v
		case "reasoning_content":
			reasoning = v
		}
		return true
	})
	role := oai.Role(m)
	var toolName string
	switch role {
	case "system", "user", "assistant":
	case "tool":
		if id := toolCallID.String(); id != "" {
			toolName = names.lookup(id, messages)
		}
		if toolName == "" {
			toolName = name.String()
		}
	case "function": // deprecated: a function result named by "name"
		role = "tool"
		toolName = name.String()
	default:
		return b, oai.BadRequest(msgParam(i, "role"), "the ollama provider does not support the message role "+strconv.Quote(role))
	}
	b = append(b, `{"role":`...)
	b = oai.AppendString(b, role)
	b = append(b, `,"content":`...)
	var images []string
	switch {
	case content.Type == gjson.String:
		b = append(b, content.Raw...)
	case content.IsArray():
		var text []byte
		var perr error
		oai.EachPart(content, func(part oai.Part) bool {
			switch part.Type {
			case "text":
				text = append(text, part.Text...)
			case "refusal": // an assistant turn's refusal part: its text
				text = append(text, part.Raw.Get("refusal").String()...)
			case "image_url":
				_, data, ok := oai.ParseDataURL(part.URL)
				if !ok {
					perr = oai.BadRequest(msgParam(i, "content"), "the ollama provider cannot fetch image URLs: send the image as a base64 data URL (data:image/png;base64,…)")
					return false
				}
				images = append(images, data)
			default:
				perr = oai.BadRequest(msgParam(i, "content"), "the ollama provider does not support "+strconv.Quote(part.Type)+" content parts")
				return false
			}
			return true
		})
		if perr != nil {
			return b, perr
		}
		b = oai.AppendString(b, string(text))
	case !content.Exists() || content.Type == gjson.Null:
		b = append(b, `""`...)
	default:
		return b, oai.BadRequest(msgParam(i, "content"), "content must be a string or an array of content parts")
	}
	if len(images) > 0 {
		b = append(b, `,"images":[`...)
		for j, img := range images {
			if j > 0 {
				b = append(b, ',')
			}
			b = oai.AppendString(b, img)
		}
		b = append(b, ']')
	}
	if role == "assistant" {
		if reasoning.Type == gjson.String && reasoning.Raw != `""` { // thinking sent back
			b = append(b, `,"thinking":`...)
			b = append(b, reasoning.Raw...)
		}
		if toolCalls.IsArray() && hasElement(toolCalls) {
			var err error
			if b, err = appendToolCalls(b, toolCalls, i, names); err != nil {
				return b, err
			}
		}
	}
	if role == "tool" {
		if toolName != "" {
			b = append(b, `,"tool_name":`...)
			b = oai.AppendString(b, toolName)
		}
		if toolCallID.Type == gjson.String && toolCallID.Str != "" {
			b = append(b, `,"tool_call_id":`...)
			b = append(b, toolCallID.Raw...)
		}
	}
	return append(b, '}'), nil
}

// appendToolCalls appends an assistant turn's tool calls with their
// arguments as objects; arguments that are not a JSON object are a 400.
func appendToolCalls(b []byte, calls gjson.Result, i int, names *callNames) ([]byte, error) {
	b = append(b, `,"tool_calls":[`...)
	var err error
	j := 0
	calls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		args, ok := oai.ToolArgs(fn.Get("arguments").String())
		if !ok {
			err = oai.BadRequest(msgParam(i, "tool_calls["+strconv.Itoa(j)+"].function.arguments"),
				"tool-call arguments must be a JSON object: the ollama provider sends them as an object")
			return false
		}
		if j > 0 {
			b = append(b, ',')
		}
		name := fn.Get("name").String()
		b = append(b, '{')
		if id := tc.Get("id"); id.Type == gjson.String && id.Str != "" {
			b = append(b, `"id":`...)
			b = append(b, id.Raw...)
			b = append(b, ',')
			names.add(id.Str, name)
		}
		b = append(b, `"function":{"index":`...)
		b = oai.AppendInt(b, int64(j))
		b = append(b, `,"name":`...)
		b = oai.AppendString(b, name)
		b = append(b, `,"arguments":`...)
		b = append(b, args...) // ToolArgs checked it is an object
		b = append(b, `}}`...)
		j++
		return true
	})
	return append(b, ']'), err
}

// callNames maps the ids of the tool calls translated so far to their
// function names: a tool result names only the id, Ollama wants the name.
// An id not among them (a result before its call) is looked up with
// oai.ToolNames over all the messages, made once on first need.
type callNames struct {
	seen []idName
	all  map[string]string
}

type idName struct{ id, name string }

func (c *callNames) add(id, name string) { c.seen = append(c.seen, idName{id, name}) }

func (c *callNames) lookup(id string, messages gjson.Result) string {
	for i := len(c.seen) - 1; i >= 0; i-- { // the latest call of that id
		if c.seen[i].id == id {
			return c.seen[i].name
		}
	}
	if c.all == nil {
		c.all = oai.ToolNames(messages)
	}
	return c.all[id]
}

func msgParam(i int, field string) string {
	p := "messages[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// appendTools appends the function tools, in OpenAI's shape (which Ollama
// takes as is), as tool_choice allows: none of them for "none", only the
// named one for a named function.
func appendTools(b []byte, mode, fname string, tools gjson.Result) ([]byte, error) {
	if mode == oai.ChoiceNone {
		return b, nil
	}
	start, n, found := len(b), 0, false
	var err error
	if tools.IsArray() {
		b = append(b, `,"tools":[`...)
		tools.ForEach(func(_, t gjson.Result) bool {
			if typ := t.Get("type").String(); typ != "" && typ != "function" {
				err = oai.BadRequest("tools", "the ollama provider supports only function tools, not "+strconv.Quote(typ))
				return false
			}
			if mode == oai.ChoiceFunction {
				if t.Get("function.name").String() != fname {
					return true
				}
				found = true
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, t.Raw...) // the host validated the body: whitespace is harmless
			n++
			return true
		})
		b = append(b, ']')
	}
	if err != nil {
		return b[:start], err
	}
	if mode == oai.ChoiceFunction && !found {
		return b[:start], oai.BadRequest("tool_choice", "tool_choice names the function "+strconv.Quote(fname)+", which is not in tools")
	}
	if n == 0 {
		b = b[:start]
	}
	return b, nil
}

// appendFormat maps response_format: json_object → "json", json_schema →
// the schema.
func appendFormat(b []byte, rf gjson.Result) ([]byte, error) {
	if !rf.IsObject() {
		return b, nil
	}
	switch typ := rf.Get("type").String(); typ {
	case "", "text":
	case "json_object":
		b = append(b, `,"format":"json"`...)
	case "json_schema":
		b = append(b, `,"format":`...)
		if schema := rf.Get("json_schema.schema"); schema.IsObject() {
			b = append(b, schema.Raw...)
		} else {
			b = append(b, `"json"`...)
		}
	default:
		return b, oai.BadRequest("response_format", "the ollama provider does not support response_format "+strconv.Quote(typ))
	}
	return b, nil
}

// appendExtraOptions appends, after the options already written (whose
// names are in have), num_ctx and the extra options whose names are not
// taken yet. dst holds members without the braces.
func appendExtraOptions(dst []byte, s settings, have []string) []byte {
	add := func(k string) bool {
		if k == "" || slices.Contains(have, k) {
			return false
		}
		if len(dst) > 0 {
			dst = append(dst, ',')
		}
		dst = oai.AppendString(dst, k)
		dst = append(dst, ':')
		have = append(have, k)
		return true
	}
	if s.numCtx > 0 && add("num_ctx") {
		dst = oai.AppendInt(dst, s.numCtx)
	}
	for i := 0; i+1 < len(s.options); i += 2 {
		if add(s.options[i].Str) {
			dst = oai.AppendCompact(dst, s.options[i+1].Raw)
		}
	}
	return dst
}

// chatResponse turns a non-stream /api/chat answer into a chat.completion.
func chatResponse(body gjson.Result, st stateView) (*abi.ResponseOut, error) {
	c := oai.Completion{ID: st.id, Created: st.created}
	var reason string
	var u abi.Usage
	body.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			c.Model = v.String()
		case "created_at":
			if t, ok := parseTime(v.Str); ok {
				c.Created = t
			}
		case "message":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "content":
					c.Content = v.String()
				case "thinking":
					c.Reasoning = v.String()
				case "tool_calls":
					if !v.IsArray() {
						break
					}
					v.ForEach(func(_, tc gjson.Result) bool {
						id, name, args := toolCall(tc, st.requestID(), len(c.ToolCalls))
						c.ToolCalls = append(c.ToolCalls, oai.ToolCall{ID: id, Name: name, Args: args})
						return true
					})
				}
				return true
			})
		case "done_reason":
			reason = v.String()
		case "prompt_eval_count":
			u.InputTokens = v.Int()
		case "eval_count":
			u.OutputTokens = v.Int()
		}
		return true
	})
	c.HasContent = c.Content != ""
	c.Finish = finishReason(reason, len(c.ToolCalls) > 0)
	c.Usage = &u
	return &abi.ResponseOut{Body: c.Append(make([]byte, 0, len(body.Raw)+320)), Usage: &u}, nil
}

// toolCall reads one Ollama tool call: its id (synthesized when an older
// server sent none), name and arguments object (raw JSON).
func toolCall(tc gjson.Result, requestID string, ordinal int) (id, name, args string) {
	tc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v.String()
		case "function":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "name":
					name = v.String()
				case "arguments":
					switch {
					case v.IsObject():
						args = v.Raw
					case v.Type == gjson.String && gjson.Valid(v.Str) && gjson.Parse(v.Str).IsObject():
						args = v.Str // a stringified object, as the /v1 layer sends
					}
				}
				return true
			})
		}
		return true
	})
	if id == "" {
		id = oai.ToolCallID(requestID, ordinal)
	}
	return id, name, args
}

// finishReason maps done_reason (MAPPING.md §6): "length" → length; a turn
// with tool calls → tool_calls (Ollama says "stop"); anything else → stop.
func finishReason(doneReason string, toolCalls bool) string {
	switch {
	case doneReason == "length":
		return oai.FinishLength
	case toolCalls:
		return oai.FinishToolCalls
	}
	return oai.FinishStop
}

func stopOf(req gjson.Result, present bool) []string {
	if !present {
		return nil
	}
	return oai.Stop(req)
}
