package main

import (
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// skipSignature is Google's documented placeholder thought signature for
// function calls that have none (history from another model, or a client
// that dropped it).
const skipSignature = "skip_thought_signature_validator"

// chatRequest translates a canonical chat-completions request into a
// generateContent / streamGenerateContent request.
func (p *plugin) chatRequest(in *abi.RequestIn, model string, o *reqOpts) (*abi.RequestOut, error) {
	root := parse(in.Body)
	if !root.IsObject() {
		return nil, oai.BadRequest("", "the request body is not a JSON object")
	}
	stream := in.Flags&abi.FlagStream != 0
	// One pass over the top-level members; the oai readers are called only
	// for members that are present.
	var messages, tools, respFormat, effort, temp, topP, topK, n, seed, presence, frequency gjson.Result
	var maxCompletion, maxTokens, stop, choice gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "messages":
			messages = v
		case "tools":
			tools = v
		case "tool_choice":
			choice = v
		case "response_format":
			respFormat = v
		case "reasoning_effort":
			effort = v
		case "max_completion_tokens":
			maxCompletion = v
		case "max_tokens":
			maxTokens = v
		case "temperature":
			temp = v
		case "top_p":
			topP = v
		case "top_k":
			topK = v
		case "stop":
			stop = v
		case "n":
			n = v
		case "seed":
			seed = v
		case "presence_penalty":
			presence = v
		case "frequency_penalty":
			frequency = v
		}
		return true
	})
	if stream && n.Int() > 1 {
		return nil, oai.BadRequest("n", "n > 1 is not supported with stream on Gemini")
	}

	b := make([]byte, 0, len(in.Body)+256)
	b = append(b, `{"contents":[`...)
	w := contentsWriter{buf: b, sigFallback: o.sigFallback == 1 || o.sigFallback < 0 && needsSignatures(model)}
	if err := w.messages(messages); err != nil {
		return nil, err
	}
	b = w.buf
	sys := w.sys
	if w.turns == 0 {
		if len(sys) == 0 {
			return nil, oai.BadRequest("messages", "the request has no messages to send")
		}
		// Only system messages: they become the user turn.
		b = append(b, `{"role":"user","parts":[`...)
		b = append(b, sys...)
		b = append(b, "]}"...)
		sys = nil
	}
	b = append(b, ']')
	if len(sys) > 0 {
		b = append(b, `,"systemInstruction":{"parts":[`...)
		b = append(b, sys...)
		b = append(b, "]}"...)
	}
	var err error
	var nTools int
	if b, nTools, err = appendTools(b, tools, o.jsonSchema); err != nil {
		return nil, err
	}
	if choice.Exists() && nTools > 0 {
		switch mode, name := oai.ToolChoice(members("tool_choice", choice, "", gjson.Result{})); mode {
		case oai.ChoiceAuto:
			b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}`...)
		case oai.ChoiceNone:
			b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}`...)
		case oai.ChoiceRequired:
			b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}`...)
		case oai.ChoiceFunction:
			b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":[`...)
			b = oai.AppendString(b, name)
			b = append(b, "]}}"...)
		}
	}

	// generationConfig
	g := genConfig{buf: b}
	if maxCompletion.Exists() || maxTokens.Exists() {
		if v, ok := oai.MaxTokens(members("max_completion_tokens", maxCompletion, "max_tokens", maxTokens)); ok {
			g.key("maxOutputTokens")
			g.buf = oai.AppendInt(g.buf, v)
		}
	}
	g.number("temperature", temp)
	g.number("topP", topP)
	g.number("topK", topK)
	if stop.Exists() {
		if stops := oai.Stop(members("stop", stop, "", gjson.Result{})); len(stops) > 0 {
			g.key("stopSequences")
			g.buf = append(g.buf, '[')
			for i, s := range stops {
				if i > 0 {
					g.buf = append(g.buf, ',')
				}
				g.buf = oai.AppendString(g.buf, s)
			}
			g.buf = append(g.buf, ']')
		}
	}
	g.number("candidateCount", n)
	g.number("seed", seed)
	g.number("presencePenalty", presence)
	g.number("frequencyPenalty", frequency)
	if respFormat.IsObject() {
		switch respFormat.Get("type").Str {
		case "json_object":
			g.key("responseMimeType")
			g.buf = append(g.buf, `"application/json"`...)
		case "json_schema":
			g.key("responseMimeType")
			g.buf = append(g.buf, `"application/json"`...)
			if s := respFormat.Get("json_schema.schema"); s.IsObject() {
				g.key("responseJsonSchema")
				g.buf = append(g.buf, s.Raw...)
			}
		}
	}
	if effort.Exists() && effort.Type != gjson.Null {
		budget := -1
		switch effort.String() {
		case "none":
			budget = 0
		case "minimal":
			budget = 512
		case "low":
			budget = 1024
		case "medium":
			budget = 8192
		case "high", "xhigh":
			budget = 24576
		default:
			return nil, oai.BadRequest("reasoning_effort", "unsupported reasoning_effort "+strconv.Quote(effort.String())+" (none, minimal, low, medium, high)")
		}
		g.key("thinkingConfig")
		g.buf = append(g.buf, `{"thinkingBudget":`...)
		g.buf = strconv.AppendInt(g.buf, int64(budget), 10)
		if budget > 0 && o.includeThoughts {
			g.buf = append(g.buf, `,"includeThoughts":true`...)
		}
		g.buf = append(g.buf, '}')
	}
	b = g.buf
	if g.open {
		b = append(b, '}')
	}
	if o.safety != "" {
		b = append(b, `,"safetySettings":`...)
		b = append(b, o.safety...)
	}
	b = append(b, '}')

	st := state{kind: kindChat, created: createdOf(in), requestID: in.RequestID, model: model}
	method, headers := "generateContent", p.headers
	if stream {
		st.flags |= fStream
		if in.Flags&abi.FlagIncludeUsage != 0 {
			st.flags |= fUsage
		}
		method, headers = "streamGenerateContent?alt=sse", p.streamHeaders
	}
	return &abi.RequestOut{Method: "POST", Path: path(o, model, method), Headers: headers, Body: b,
		State: appendState(make([]byte, 0, stateHead+8+len(in.RequestID)+len(model)), &st)}, nil
}

// members returns a JSON object of up to two top-level members of the
// request (absent values are left out), for the oai readers, which look
// members up by name: the request's top level is read once, and a lookup
// in the whole body would scan all of it again.
func members(k1 string, v1 gjson.Result, k2 string, v2 gjson.Result) gjson.Result {
	b := make([]byte, 0, 48+len(v1.Raw)+len(v2.Raw))
	b = append(b, '{')
	if v1.Exists() {
		b = oai.AppendKey(b, k1)
		b = append(b, v1.Raw...)
	}
	if v2.Exists() {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = oai.AppendKey(b, k2)
		b = append(b, v2.Raw...)
	}
	return parse(append(b, '}'))
}

// needsSignatures reports whether model is Gemini 3 or later, which
// rejects replayed function calls without a thought signature.
func needsSignatures(model string) bool {
	i := strings.Index(model, "gemini-")
	if i < 0 {
		return false
	}
	v := model[i+len("gemini-"):]
	n := 0
	for j := 0; j < len(v) && '0' <= v[j] && v[j] <= '9'; j++ {
		n = n*10 + int(v[j]-'0')
		if n > 1000 {
			break
		}
	}
	return n >= 3
}

// genConfig writes generationConfig members, opening the object on the
// first one.
type genConfig struct {
	buf  []byte
	open bool
}

func (g *genConfig) key(name string) {
	if g.open {
		g.buf = append(g.buf, ',')
	} else {
		g.buf = append(g.buf, `,"generationConfig":{`...)
		g.open = true
	}
	g.buf = oai.AppendKey(g.buf, name)
}

// number copies v under name when it is a JSON number.
func (g *genConfig) number(name string, v gjson.Result) {
	if v.Type == gjson.Number {
		g.key(name)
		g.buf = append(g.buf, v.Raw...)
	}
}

// contentsWriter writes Gemini contents from OpenAI messages: it merges
// consecutive parts of one role into one turn and starts the conversation
// with a user turn.
type contentsWriter struct {
	buf         []byte
	sys         []byte // systemInstruction parts, comma-separated
	role        string // role of the open turn; "" before the first
	turns       int
	sigFallback bool
	names       map[string]string // tool_call_id → function name, built on first use
	all         gjson.Result
}

// part opens a part of a turn of role: a comma within the open turn, or a
// new turn.
func (w *contentsWriter) part(role string) {
	if w.role == role {
		w.buf = append(w.buf, ',')
		return
	}
	if w.role != "" {
		w.buf = append(w.buf, "]},"...)
	} else if role == "model" {
		// Gemini needs the conversation to start with a user turn.
		w.buf = append(w.buf, `{"role":"user","parts":[{"text":"."}]},`...)
		w.turns++
	}
	w.buf = append(w.buf, `{"role":"`...)
	w.buf = append(w.buf, role...)
	w.buf = append(w.buf, `","parts":[`...)
	w.role = role
	w.turns++
}

func (w *contentsWriter) text(role, s string) {
	if s == "" {
		return // Gemini rejects empty text parts
	}
	w.part(role)
	w.buf = append(w.buf, `{"text":`...)
	w.buf = oai.AppendString(w.buf, s)
	w.buf = append(w.buf, '}')
}

func (w *contentsWriter) messages(messages gjson.Result) error {
	if !messages.IsArray() {
		return oai.BadRequest("messages", "messages must be an array")
	}
	w.all = messages
	var err error
	i := -1
	messages.ForEach(func(_, m gjson.Result) bool {
		i++
		var content, toolCalls, toolCallID, name gjson.Result
		var role string
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				role = v.Str
			case "content":
				content = v
			case "tool_calls":
				toolCalls = v
			case "tool_call_id":
				toolCallID = v
			case "name":
				name = v
			}
			return true
		})
		switch role {
		case "system", "developer":
			if t := oai.Text(content); t != "" {
				if len(w.sys) > 0 {
					w.sys = append(w.sys, ',')
				}
				w.sys = append(w.sys, `{"text":`...)
				w.sys = oai.AppendString(w.sys, t)
				w.sys = append(w.sys, '}')
			}
		case "user":
			err = w.userContent(content, i)
		case "assistant":
			err = w.assistant(content, toolCalls, i)
		case "tool", "function":
			err = w.toolResult(content, toolCallID, name, i)
		default:
			err = oai.BadRequest(msgParam(i, "role"), "unsupported message role "+strconv.Quote(role))
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if w.role != "" {
		w.buf = append(w.buf, "]}"...)
	}
	return nil
}

func msgParam(i int, field string) string {
	return "messages[" + strconv.Itoa(i) + "]." + field
}

func (w *contentsWriter) userContent(content gjson.Result, i int) error {
	var err error
	oai.EachPart(content, func(p oai.Part) bool {
		switch p.Type {
		case "text":
			w.text("user", p.Text)
		case "image_url":
			err = w.media(p.URL, i, "Gemini needs inline images; send a data URL")
		case "input_audio":
			a := p.Raw.Get("input_audio")
			format := a.Get("format").Str
			if format == "" {
				format = "wav"
			}
			w.part("user")
			w.buf = append(w.buf, `{"inlineData":{"mimeType":`...)
			w.buf = oai.AppendString(w.buf, "audio/"+format)
			w.buf = append(w.buf, `,"data":`...)
			w.buf = oai.AppendString(w.buf, a.Get("data").Str)
			w.buf = append(w.buf, "}}"...)
		case "file":
			f := p.Raw.Get("file")
			data := f.Get("file_data").Str
			if data == "" {
				err = oai.BadRequest(msgParam(i, "content"), "Gemini needs files inline; send file.file_data as a data URL (file_id is not supported)")
				break
			}
			if !strings.HasPrefix(data, "data:") { // bare base64: guess PDF, OpenAI's only file type
				data = "data:application/pdf;base64," + data
			}
			err = w.media(data, i, "file.file_data must be a base64 data URL")
		default:
			err = oai.BadRequest(msgParam(i, "content"), "content part type "+strconv.Quote(p.Type)+" is not supported by Gemini")
		}
		return err == nil
	})
	return err
}

// media writes an inlineData part from a data URL, or a fileData part for
// a Gemini Files-API URI.
func (w *contentsWriter) media(url string, i int, msg string) error {
	if mt, data, ok := oai.ParseDataURL(url); ok {
		w.part("user")
		w.buf = append(w.buf, `{"inlineData":{"mimeType":`...)
		w.buf = oai.AppendString(w.buf, mt)
		w.buf = append(w.buf, `,"data":`...)
		w.buf = oai.AppendString(w.buf, data)
		w.buf = append(w.buf, "}}"...)
		return nil
	}
	if strings.HasPrefix(url, "https://generativelanguage.googleapis.com/") && strings.Contains(url, "/files/") {
		w.part("user")
		w.buf = append(w.buf, `{"fileData":{"fileUri":`...)
		w.buf = oai.AppendString(w.buf, url)
		w.buf = append(w.buf, "}}"...)
		return nil
	}
	return oai.BadRequest(msgParam(i, "content"), msg)
}

func (w *contentsWriter) assistant(content, toolCalls gjson.Result, i int) error {
	oai.EachPart(content, func(p oai.Part) bool {
		if p.Type == "text" {
			w.text("model", p.Text)
		}
		return true // refusal and other parts of a past answer are dropped
	})
	var err error
	first := true
	j := -1
	toolCalls.ForEach(func(_, tc gjson.Result) bool {
		j++
		fn := tc.Get("function")
		name := fn.Get("name").Str
		args, ok := oai.ToolArgs(fn.Get("arguments").String())
		if !ok {
			err = oai.BadRequest(msgParam(i, "tool_calls["+strconv.Itoa(j)+"].function.arguments"),
				"tool call arguments must be a JSON object for Gemini")
			return false
		}
		w.part("model")
		w.buf = append(w.buf, `{"functionCall":{"name":`...)
		w.buf = oai.AppendString(w.buf, name)
		w.buf = append(w.buf, `,"args":`...)
		w.buf = append(w.buf, args...)
		w.buf = append(w.buf, '}')
		sig := tc.Get("extra_content.google.thought_signature").Str
		if sig == "" && first && w.sigFallback {
			sig = skipSignature
		}
		if sig != "" {
			w.buf = append(w.buf, `,"thoughtSignature":`...)
			w.buf = oai.AppendString(w.buf, sig)
		}
		w.buf = append(w.buf, '}')
		first = false
		return true
	})
	return err
}

func (w *contentsWriter) toolResult(content, toolCallID, nameField gjson.Result, i int) error {
	name := ""
	if toolCallID.Str != "" {
		if w.names == nil {
			w.names = oai.ToolNames(w.all)
		}
		name = w.names[toolCallID.Str]
	}
	if name == "" {
		name = nameField.Str
	}
	if name == "" {
		return oai.BadRequest(msgParam(i, "tool_call_id"),
			"the tool message's tool_call_id "+strconv.Quote(toolCallID.Str)+" matches no tool call of an earlier assistant message (Gemini needs the function name)")
	}
	text := oai.Text(content)
	w.part("user")
	w.buf = append(w.buf, `{"functionResponse":{"name":`...)
	w.buf = oai.AppendString(w.buf, name)
	w.buf = append(w.buf, `,"response":`...)
	if t := strings.TrimSpace(text); len(t) > 0 && t[0] == '{' && gjson.Valid(t) {
		w.buf = append(w.buf, t...)
	} else {
		w.buf = append(w.buf, `{"result":`...)
		w.buf = oai.AppendString(w.buf, text)
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, "}}"...)
	return nil
}

// appendTools writes the function tools as one Tool of functionDeclarations
// and returns how many it wrote.
func appendTools(b []byte, tools gjson.Result, jsonSchema bool) ([]byte, int, error) {
	n := 0
	var err error
	i := -1
	tools.ForEach(func(_, t gjson.Result) bool {
		i++
		var typ, fn gjson.Result
		t.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				typ = v
			case "function":
				fn = v
			}
			return true
		})
		if typ.Str != "function" && typ.Str != "" {
			err = oai.BadRequest("tools["+strconv.Itoa(i)+"].type", "tool type "+strconv.Quote(typ.Str)+" is not supported by Gemini")
			return false
		}
		var name, desc, params gjson.Result
		fn.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "name":
				name = v
			case "description":
				desc = v
			case "parameters":
				params = v
			}
			return true
		})
		if name.Str == "" {
			err = oai.BadRequest("tools["+strconv.Itoa(i)+"].function.name", "a function tool needs a name")
			return false
		}
		if n == 0 {
			b = append(b, `,"tools":[{"functionDeclarations":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"name":`...)
		b = oai.AppendString(b, name.Str)
		if desc.Str != "" {
			b = append(b, `,"description":`...)
			b = oai.AppendString(b, desc.Str)
		}
		if params.IsObject() {
			mark := len(b)
			var sc schemaScan
			if !jsonSchema {
				b = append(b, `,"parameters":`...)
				b = sc.append(b, params, 0)
			}
			switch {
			case jsonSchema || sc.ref:
				// Full JSON Schema, verbatim: Gemini's parametersJsonSchema.
				b = append(b[:mark], `,"parametersJsonSchema":`...)
				b = append(b, params.Raw...)
			case sc.props == 0:
				// Gemini rejects an OBJECT schema with empty properties: a
				// function without arguments is declared without parameters.
				b = b[:mark]
			}
		}
		b = append(b, '}')
		return true
	})
	if n > 0 {
		b = append(b, "]}]"...)
	}
	return b, n, err
}

// schemaScan writes a JSON Schema sanitized to Gemini's OpenAPI-subset
// Schema in one pass, noting what the caller must know.
type schemaScan struct {
	ref   bool // a $ref was seen: the schema cannot be inlined as parameters
	props int  // properties of the top-level schema
}

// append writes s: an allowlist of keywords, recursively through
// properties, items and anyOf. Dropped: additionalProperties, $schema,
// $id, $defs, propertyNames, patternProperties, allOf, not, if/then/else,
// strict, and anything else Gemini's Schema does not know.
func (sc *schemaScan) append(b []byte, s gjson.Result, depth int) []byte {
	if !s.IsObject() {
		return append(b, "{}"...)
	}
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = oai.AppendKey(b, name)
	}
	var constant string
	var hasEnum, hasConst, nullable, nullType, anyOf bool
	s.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "$ref":
			sc.ref = true
			return false
		case "type":
			switch {
			case v.Type == gjson.String:
				key("type")
				b = oai.AppendString(b, v.Str)
			case v.IsArray(): // ["string","null"]: type string, nullable
				t := ""
				v.ForEach(func(_, x gjson.Result) bool {
					if x.Str == "null" {
						nullType = true
					} else if t == "" {
						t = x.Str
					}
					return true
				})
				if t != "" {
					key("type")
					b = oai.AppendString(b, t)
				}
			}
		case "format":
			switch v.Str {
			case "enum", "date-time", "int32", "int64", "float", "double":
				key("format")
				b = oai.AppendString(b, v.Str)
			}
		case "nullable":
			nullable = true
			key("nullable")
			b = append(b, v.Raw...)
		case "enum":
			hasEnum = true
			if allStrings(v) { // Gemini enums are strings
				key("enum")
				b = append(b, v.Raw...)
			}
		case "const":
			if v.Type == gjson.String {
				hasConst, constant = true, v.Str
			}
		case "properties":
			if v.IsObject() {
				key("properties")
				b = append(b, '{')
				n := 0
				v.ForEach(func(pk, pv gjson.Result) bool {
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = oai.AppendString(b, pk.Str)
					b = append(b, ':')
					b = sc.append(b, pv, depth+1)
					return !sc.ref
				})
				b = append(b, '}')
				if depth == 0 {
					sc.props = n
				}
			}
		case "items":
			switch {
			case v.IsObject():
				key("items")
				b = sc.append(b, v, depth+1)
			case v.IsArray(): // a tuple: Gemini has one item schema
				key("items")
				b = sc.append(b, v.Get("0"), depth+1)
			}
		case "anyOf", "oneOf":
			if v.IsArray() && !anyOf {
				anyOf = true
				key("anyOf")
				b = append(b, '[')
				n := 0
				v.ForEach(func(_, x gjson.Result) bool {
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = sc.append(b, x, depth+1)
					return !sc.ref
				})
				b = append(b, ']')
			}
		case "title", "description", "required", "minItems", "maxItems", "minLength", "maxLength", "pattern",
			"minimum", "maximum", "minProperties", "maxProperties", "default", "example", "propertyOrdering":
			key(k.Str)
			b = append(b, v.Raw...)
		}
		return !sc.ref
	})
	if hasConst && !hasEnum {
		key("enum")
		b = append(b, '[')
		b = oai.AppendString(b, constant)
		b = append(b, ']')
	}
	if nullType && !nullable {
		key("nullable")
		b = append(b, "true"...)
	}
	return append(b, '}')
}

func allStrings(v gjson.Result) bool {
	if !v.IsArray() {
		return false
	}
	ok := true
	v.ForEach(func(_, x gjson.Result) bool {
		ok = x.Type == gjson.String
		return ok
	})
	return ok
}
