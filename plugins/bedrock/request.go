package main

import (
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// defaultSchema is a tool's inputSchema when the client gave no parameters.
const defaultSchema = `{"type":"object","properties":{}}`

// syntheticUser is the turn added when the conversation does not start
// with a user turn (Bedrock requires it) or has none.
const syntheticUser = `{"role":"user","content":[{"text":"."}]}`

// cachePoint follows a block whose OpenAI part carried cache_control.
const cachePoint = `{"cachePoint":{"type":"default"}}`

// params are the top-level members of the canonical request this plugin
// reads, found in one pass.
type params struct {
	model, messages, tools, temperature, topP, topK, n, format gjson.Result
	// read by the oai helpers, from a small object made of just them
	// (each helper's lookup would be a pass over the whole body, images
	// included)
	maxCompletion, maxTokens, stop, toolChoice gjson.Result
}

// small returns an object of the members the oai request helpers read.
func (p *params) small() gjson.Result {
	b := make([]byte, 0, 64+len(p.maxCompletion.Raw)+len(p.maxTokens.Raw)+len(p.stop.Raw)+len(p.toolChoice.Raw))
	b = append(b, '{')
	for _, m := range [...]struct {
		name string
		v    gjson.Result
	}{{"max_completion_tokens", p.maxCompletion}, {"max_tokens", p.maxTokens}, {"stop", p.stop}, {"tool_choice", p.toolChoice}} {
		if m.v.Exists() {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(oai.AppendKey(b, m.name), m.v.Raw...)
		}
	}
	return oai.Parse((append(b, '}')))
}

// converseOptions are the per-provider options (abi.RequestIn.Options).
type converseOptions struct {
	additional, guardrail, performance gjson.Result
}

// translate builds the Converse (or ConverseStream: the same) request body
// and returns it with the model id.
func translate(in *abi.RequestIn) (body []byte, model string, err error) {
	root := oai.Parse((in.Body))
	if !root.IsObject() {
		return nil, "", oai.BadRequest("", "the request body is not a JSON object")
	}
	var p params
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			p.model = v
		case "messages":
			p.messages = v
		case "tools":
			p.tools = v
		case "temperature":
			p.temperature = v
		case "top_p":
			p.topP = v
		case "top_k":
			p.topK = v
		case "n":
			p.n = v
		case "response_format":
			p.format = v
		case "max_completion_tokens":
			p.maxCompletion = v
		case "max_tokens":
			p.maxTokens = v
		case "stop":
			p.stop = v
		case "tool_choice":
			p.toolChoice = v
		}
		return true
	})
	small := p.small()
	if p.n.Type == gjson.Number && p.n.Int() > 1 {
		return nil, "", oai.BadRequest("n", "n > 1 is not supported by bedrock: it answers one choice")
	}
	if !p.messages.IsArray() {
		return nil, "", oai.BadRequest("messages", "messages must be an array")
	}
	model = in.Model
	if model == "" {
		model = p.model.String()
	}
	if model == "" {
		return nil, "", oai.BadRequest("model", "no model id")
	}
	var opt converseOptions
	if len(in.Options) > 0 {
		oai.Parse((in.Options)).ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "additional_model_request_fields":
				opt.additional = v
			case "guardrail_config":
				opt.guardrail = v
			case "performance_config":
				opt.performance = v
			}
			return true
		})
	}

	w := turns{b: make([]byte, 0, len(in.Body)+256)}
	w.arena(len(in.Body))
	w.b = append(w.b, `{"messages":[`...)
	if err := w.messages(p.messages); err != nil {
		return nil, "", err
	}
	b := append(w.b, ']')
	if len(w.sys) > 0 {
		b = append(append(append(b, `,"system":[`...), w.sys...), ']')
	}

	// inferenceConfig
	n := len(b)
	b = append(b, `,"inferenceConfig":{`...)
	fields := 0
	field := func(name string) {
		if fields > 0 {
			b = append(b, ',')
		}
		fields++
		b = oai.AppendKey(b, name)
	}
	if mt, ok := oai.MaxTokens(small); ok {
		field("maxTokens")
		b = strconv.AppendInt(b, mt, 10)
	}
	if p.temperature.Type == gjson.Number {
		field("temperature")
		b = append(b, p.temperature.Raw...)
	}
	if p.topP.Type == gjson.Number {
		field("topP")
		b = append(b, p.topP.Raw...)
	}
	if stop := oai.Stop(small); len(stop) > 0 {
		field("stopSequences")
		b = append(b, '[')
		for i, s := range stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = oai.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if fields == 0 {
		b = b[:n]
	} else {
		b = append(b, '}')
	}

	// toolConfig
	if mode, name := oai.ToolChoice(small); mode != oai.ChoiceNone && nonEmpty(p.tools) {
		b = append(b, `,"toolConfig":{"tools":[`...)
		if b, err = appendTools(b, p.tools); err != nil {
			return nil, "", err
		}
		b = append(b, ']')
		switch mode {
		case oai.ChoiceAuto:
			b = append(b, `,"toolChoice":{"auto":{}}`...)
		case oai.ChoiceRequired:
			b = append(b, `,"toolChoice":{"any":{}}`...)
		case oai.ChoiceFunction:
			b = append(b, `,"toolChoice":{"tool":{"name":`...)
			b = append(oai.AppendString(b, name), `}}`...)
		}
		b = append(b, '}')
	}

	// additionalModelRequestFields: the options' object, and top_k unless
	// the options set it.
	topK := p.topK.Type == gjson.Number && !opt.additional.Get("top_k").Exists()
	extra := opt.additional.IsObject() && len(strings.TrimSpace(opt.additional.Raw[1:len(opt.additional.Raw)-1])) > 0
	if topK || extra {
		b = append(b, `,"additionalModelRequestFields":{`...)
		if topK {
			b = append(append(b, `"top_k":`...), p.topK.Raw...)
		}
		if extra {
			if topK {
				b = append(b, ',')
			}
			raw := oai.AppendCompact(nil, opt.additional.Raw)
			b = append(b, raw[1:len(raw)-1]...)
		}
		b = append(b, '}')
	}

	if b, err = appendOutputConfig(b, p.format); err != nil {
		return nil, "", err
	}
	if opt.guardrail.IsObject() {
		b = oai.AppendCompact(append(b, `,"guardrailConfig":`...), opt.guardrail.Raw)
	}
	if opt.performance.IsObject() {
		b = oai.AppendCompact(append(b, `,"performanceConfig":`...), opt.performance.Raw)
	}
	return append(b, '}'), model, nil
}

// nonEmpty reports whether v is an array with an element.
func nonEmpty(v gjson.Result) bool {
	found := false
	if v.IsArray() {
		v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	}
	return found
}

// appendTools appends the toolSpec entries (inside the array brackets).
func appendTools(b []byte, tools gjson.Result) ([]byte, error) {
	var err error
	i := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").String(); typ != "function" && typ != "" {
			err = oai.BadRequest("tools", "tool type "+strconv.Quote(typ)+" is not supported by bedrock")
			return false
		}
		var name, desc, schema gjson.Result
		t.Get("function").ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "name":
				name = v
			case "description":
				desc = v
			case "parameters":
				schema = v
			}
			return true
		})
		if name.String() == "" {
			err = oai.BadRequest("tools", "every tool needs a function name")
			return false
		}
		if i > 0 {
			b = append(b, ',')
		}
		i++
		b = append(b, `{"toolSpec":{"name":`...)
		b = oai.AppendString(b, name.String())
		if d := desc.String(); d != "" {
			b = append(b, `,"description":`...)
			b = oai.AppendString(b, d)
		}
		b = append(b, `,"inputSchema":{"json":`...)
		if schema.IsObject() {
			b = oai.AppendCompact(b, schema.Raw)
		} else {
			b = append(b, defaultSchema...)
		}
		b = append(b, `}}}`...)
		return true
	})
	return b, err
}

// appendOutputConfig maps response_format json_schema to Converse's
// structured output, outputConfig.textFormat (whose schema is a JSON
// string). json_object and text have no Converse equivalent and are
// dropped.
func appendOutputConfig(b []byte, format gjson.Result) ([]byte, error) {
	if !format.IsObject() {
		return b, nil
	}
	var typ, js gjson.Result
	format.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "json_schema":
			js = v
		}
		return true
	})
	switch typ.String() {
	case "json_schema":
		var schema, name, desc gjson.Result
		js.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "schema":
				schema = v
			case "name":
				name = v
			case "description":
				desc = v
			}
			return true
		})
		if !schema.IsObject() {
			return b, oai.BadRequest("response_format", "response_format.json_schema.schema must be an object")
		}
		b = append(b, `,"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":`...)
		b = oai.AppendStringOfJSON(b, schema.Raw)
		if name.String() != "" {
			b = append(b, `,"name":`...)
			b = oai.AppendString(b, name.String())
		}
		if desc.String() != "" {
			b = append(b, `,"description":`...)
			b = oai.AppendString(b, desc.String())
		}
		return append(b, `}}}}`...), nil
	case "json_object", "text", "":
		return b, nil
	default:
		return b, oai.BadRequest("response_format", "response_format type "+strconv.Quote(typ.String())+" is not supported by bedrock")
	}
}

// turns writes Converse's messages array: consecutive messages of the same
// role share one turn, which starts with a user turn. A turn's blocks come
// in two groups: in a user turn the toolResult blocks before any other
// content, in an assistant turn the text before the toolUse blocks.
type turns struct {
	b             []byte
	role          string // the open turn's role, "" when none
	first, second []byte // the open turn's blocks, comma-separated
	n             int    // turns written
	sys           []byte // the system blocks, comma-separated
}

// arena gives the group and system buffers their first capacity from one
// allocation, enough for a typical request of n bytes (they grow as
// needed for a larger one).
func (w *turns) arena(n int) {
	g := min(n+64, 4096)
	a := make([]byte, 0, 3*g)
	w.sys, w.first, w.second = a[0:0:g], a[g:g:2*g], a[2*g:2*g:3*g]
}

// block returns the group buffer of role that the next block goes to,
// with a comma appended if it already holds a block. The caller appends
// the block and stores the buffer back with put.
func (w *turns) block(role string, first bool) []byte {
	if role != w.role {
		w.flush()
		w.role = role
	}
	g := w.second
	if first {
		g = w.first
	}
	if len(g) > 0 {
		g = append(g, ',')
	}
	return g
}

func (w *turns) put(g []byte, first bool) {
	if first {
		w.first = g
	} else {
		w.second = g
	}
}

// flush writes the open turn, if it has blocks.
func (w *turns) flush() {
	if w.role == "" || len(w.first)+len(w.second) == 0 {
		w.role = ""
		return
	}
	if w.n == 0 && w.role == "assistant" {
		w.b = append(w.b, syntheticUser...)
		w.n++
	}
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, `{"role":"`...)
	w.b = append(w.b, w.role...)
	w.b = append(w.b, `","content":[`...)
	w.b = append(w.b, w.first...)
	if len(w.first) > 0 && len(w.second) > 0 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, w.second...)
	w.b = append(w.b, `]}`...)
	w.n++
	w.role, w.first, w.second = "", w.first[:0], w.second[:0]
}

// messages converts the canonical messages.
func (w *turns) messages(msgs gjson.Result) error {
	var err error
	i := -1
	msgs.ForEach(func(_, m gjson.Result) bool {
		i++
		var content, calls, callID gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "content":
				content = v
			case "tool_calls":
				calls = v
			case "tool_call_id":
				callID = v
			}
			return true
		})
		switch role := oai.Role(m); role {
		case "system":
			w.system(content)
		case "user":
			err = w.user(content, i)
		case "assistant":
			err = w.assistant(content, calls, i)
		case "tool":
			err = w.toolResult(callID, content, i)
		default:
			err = oai.BadRequest(msgParam(i, -1, ".role"), "role "+strconv.Quote(role)+" is not supported by bedrock")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	w.flush()
	if w.n == 0 {
		w.b = append(w.b, syntheticUser...)
		w.n++
	}
	return nil
}

// system hoists a system (or developer) message into the system blocks:
// one text block per non-empty text part, a cachePoint after a part with
// cache_control.
func (w *turns) system(content gjson.Result) {
	oai.EachPart(content, func(p oai.Part) bool {
		if p.Type == "text" && p.Text != "" {
			if len(w.sys) > 0 {
				w.sys = append(w.sys, ',')
			}
			w.sys = appendText(w.sys, p.Text)
			w.sys = appendCachePoint(w.sys, p.Raw)
		}
		return true
	})
}

func (w *turns) user(content gjson.Result, i int) error {
	var err error
	j := -1
	oai.EachPart(content, func(p oai.Part) bool {
		j++
		if p.Type == "text" && p.Text == "" {
			return true
		}
		g := w.block("user", false)
		g, err = appendPart(g, p, i, j)
		w.put(g, false)
		return err == nil
	})
	return err
}

// appendPart appends the block of a user (or tool result) content part and
// its cachePoint.
func appendPart(b []byte, p oai.Part, i, j int) ([]byte, error) {
	var err error
	switch p.Type {
	case "text":
		b = appendText(b, p.Text)
	case "image_url":
		b, err = appendImage(b, p, i, j)
	case "file":
		b, err = appendDocument(b, p, i, j)
	default:
		return b, oai.BadRequest(msgParam(i, j, ""), "content part type "+strconv.Quote(p.Type)+" is not supported by bedrock")
	}
	return appendCachePoint(b, p.Raw), err
}

func (w *turns) assistant(content, calls gjson.Result, i int) error {
	var err error
	j := -1
	oai.EachPart(content, func(p oai.Part) bool {
		j++
		switch p.Type {
		case "text":
			if p.Text != "" {
				g := w.block("assistant", true)
				g = appendCachePoint(appendText(g, p.Text), p.Raw)
				w.put(g, true)
			}
		case "refusal":
		default:
			err = oai.BadRequest(msgParam(i, j, ""), "an assistant message may hold only text")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if bad := oai.EachToolCall(calls, "bedrock", func(id, name, input string) bool {
		g := w.block("assistant", false)
		g = append(g, `{"toolUse":{"toolUseId":`...)
		g = oai.AppendString(g, id)
		g = append(g, `,"name":`...)
		g = oai.AppendString(g, name)
		g = append(g, `,"input":`...)
		g = oai.AppendCompact(g, input)
		w.put(append(g, `}}`...), false)
		return true
	}); bad != nil {
		return oai.BadRequest(callParam(i, bad.Index, bad.Member), bad.Err)
	}
	return nil
}

// toolResult appends a tool message as a toolResult block of a user turn.
// String content is one text block; an array's text and image parts are
// blocks of their own; empty content is an empty content list.
func (w *turns) toolResult(callID, content gjson.Result, i int) error {
	if callID.String() == "" {
		return oai.BadRequest(msgParam(i, -1, ".tool_call_id"), "a tool message needs a tool_call_id")
	}
	g := w.block("user", true)
	g = append(g, `{"toolResult":{"toolUseId":`...)
	g = oai.AppendString(g, callID.String())
	g = append(g, `,"content":[`...)
	var err error
	blocks, j := 0, -1
	oai.EachPart(content, func(p oai.Part) bool {
		j++
		if p.Type == "text" && p.Text == "" {
			return true
		}
		if blocks > 0 {
			g = append(g, ',')
		}
		blocks++
		switch p.Type {
		case "text":
			g = appendText(g, p.Text)
		case "image_url":
			g, err = appendImage(g, p, i, j)
		default:
			err = oai.BadRequest(msgParam(i, j, ""), "a tool result may hold only text and images")
		}
		return err == nil
	})
	w.put(append(g, `]}}`...), true)
	return err
}

func appendText(b []byte, text string) []byte {
	b = append(b, `{"text":`...)
	return append(oai.AppendString(b, text), '}')
}

// appendCachePoint appends a cachePoint block after a part that carries
// cache_control (the Anthropic extension some OpenAI clients send).
func appendCachePoint(b []byte, part gjson.Result) []byte {
	if part.IsObject() && part.Get("cache_control").IsObject() {
		b = append(append(b, ','), cachePoint...)
	}
	return b
}

// imageFormat maps an image media type to Converse's image format.
func imageFormat(mt string) (string, bool) {
	switch strings.ToLower(mt) {
	case "image/png":
		return "png", true
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}

// appendImage appends an image block. Converse takes images only as bytes
// (base64 in JSON), so an image must be a base64 data URL: the plugin
// cannot fetch an https URL.
func appendImage(b []byte, p oai.Part, i, j int) ([]byte, error) {
	mt, data, ok := oai.ParseDataURL(p.URL)
	if !ok {
		return b, oai.BadRequest(msgParam(i, j, ".image_url"), "bedrock accepts images only as base64 data URLs (data:image/png;base64,…), not as links")
	}
	format, ok := imageFormat(mt)
	if !ok {
		return b, oai.BadRequest(msgParam(i, j, ".image_url"), "image type "+strconv.Quote(mt)+" is not supported by bedrock (png, jpeg, gif, webp)")
	}
	b = append(b, `{"image":{"format":"`...)
	b = append(b, format...)
	b = append(b, `","source":{"bytes":`...)
	b = oai.AppendString(b, data)
	return append(b, `}}}`...), nil
}

// documentFormat maps a file's media type to Converse's document format.
func documentFormat(mt string) (string, bool) {
	switch strings.ToLower(mt) {
	case "application/pdf":
		return "pdf", true
	case "text/csv":
		return "csv", true
	case "application/msword":
		return "doc", true
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "docx", true
	case "application/vnd.ms-excel":
		return "xls", true
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "xlsx", true
	case "text/html":
		return "html", true
	case "text/plain":
		return "txt", true
	case "text/markdown":
		return "md", true
	}
	return "", false
}

// appendDocument appends a document block for a file part given as a data
// URL in file.file_data. Its name is the file name without extension,
// reduced to the characters Converse allows (letters, digits, single
// spaces, hyphens, parentheses, square brackets), or "document-<part>".
func appendDocument(b []byte, p oai.Part, i, j int) ([]byte, error) {
	file := p.Raw.Get("file")
	mt, data, ok := oai.ParseDataURL(file.Get("file_data").String())
	if !ok {
		return b, oai.BadRequest(msgParam(i, j, ".file"), "bedrock accepts a file only as a base64 data URL in file.file_data")
	}
	format, ok := documentFormat(mt)
	if !ok {
		return b, oai.BadRequest(msgParam(i, j, ".file"), "file type "+strconv.Quote(mt)+" is not supported by bedrock (pdf, csv, doc, docx, xls, xlsx, html, txt, md)")
	}
	name := documentName(file.Get("filename").String())
	if name == "" {
		name = "document-" + strconv.Itoa(j)
	}
	b = append(b, `{"document":{"format":"`...)
	b = append(b, format...)
	b = append(b, `","name":`...)
	b = oai.AppendString(b, name)
	b = append(b, `,"source":{"bytes":`...)
	b = oai.AppendString(b, data)
	return append(b, `}}}`...), nil
}

func documentName(filename string) string {
	if k := strings.LastIndexByte(filename, '.'); k > 0 {
		filename = filename[:k]
	}
	var sb strings.Builder
	space := true // no leading space
	for _, r := range filename {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '(', r == ')', r == '[', r == ']':
			sb.WriteRune(r)
			space = false
		case !space:
			sb.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(sb.String())
}

// msgParam names messages[msg] or messages[msg].content[part] (part ≥ 0),
// followed by rest, for an error's param.
func msgParam(msg, part int, rest string) string {
	p := "messages[" + strconv.Itoa(msg) + "]"
	if part >= 0 {
		p += ".content[" + strconv.Itoa(part) + "]"
	}
	return p + rest
}

// callParam names messages[msg].tool_calls[call] followed by rest.
func callParam(msg, call int, rest string) string {
	return "messages[" + strconv.Itoa(msg) + "].tool_calls[" + strconv.Itoa(call) + "]" + rest
}

// escapeSegment escapes a model id as one path segment: every byte but
// RFC 3986's unreserved characters becomes %XX, so "…-v1:0" becomes
// "…-v1%3A0" and an ARN's "/" becomes "%2F", as the AWS SDKs send them.
// (url.PathEscape leaves ':' alone.) The host's SigV4 signer escapes the
// escaped path once more for the canonical request, as AWS requires.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+8), s[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}
