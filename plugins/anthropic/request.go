package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// defaultSchema is a tool's input_schema when the client gave no parameters.
const defaultSchema = `{"type":"object","properties":{}}`

// syntheticUser is the text of the user turn added when the conversation
// does not start with one (Anthropic requires it).
const syntheticUser = `{"role":"user","content":"."}`

// thinkingBudget maps reasoning_effort to thinking.budget_tokens; 0 means no
// thinking and ok false an unknown effort.
func thinkingBudget(effort string) (budget int64, ok bool) {
	switch effort {
	case "", "none":
		return 0, true
	case "minimal", "low":
		return 1024, true
	case "medium":
		return 4096, true
	case "high":
		return 16384, true
	case "xhigh":
		return 32768, true
	}
	return 0, false
}

// modelMaxOutput is the output limit of models known to allow fewer output
// tokens than a generous default; 0 when unknown (no limit applied).
func modelMaxOutput(model string) int64 {
	switch {
	case strings.HasPrefix(model, "claude-3-5-"):
		return 8192
	case strings.HasPrefix(model, "claude-3-haiku"), strings.HasPrefix(model, "claude-3-opus"),
		strings.HasPrefix(model, "claude-3-sonnet"), strings.HasPrefix(model, "claude-2"), strings.HasPrefix(model, "claude-instant"):
		return 4096
	case strings.HasPrefix(model, "claude-opus-4-0"), strings.HasPrefix(model, "claude-opus-4-1"), strings.HasPrefix(model, "claude-opus-4-2025"):
		return 32000
	case strings.HasPrefix(model, "claude-3-7-sonnet"), strings.HasPrefix(model, "claude-sonnet-4"),
		strings.HasPrefix(model, "claude-haiku-4"), strings.HasPrefix(model, "claude-opus-4"):
		return 64000
	}
	return 0
}

// params are the top-level members of the canonical request this plugin
// reads, found in one pass.
type params struct {
	model, messages, tools, parallel, temperature, topP, topK, n, user, safetyID, effort, format gjson.Result
	// sub holds the members the oai readers (Stop, MaxTokens, ToolChoice)
	// look at, copied into a small object, so that those readers do not
	// scan the whole body again for each member.
	sub []byte
}

// addSub copies the member k: v into p.sub.
func (p *params) addSub(k, v gjson.Result) {
	if len(p.sub) == 0 {
		p.sub = append(p.sub, '{')
	} else {
		p.sub = append(p.sub, ',')
	}
	p.sub = append(p.sub, k.Raw...)
	p.sub = append(p.sub, ':')
	p.sub = append(p.sub, v.Raw...)
}

// translate builds the Anthropic Messages request body.
func translate(in *abi.RequestIn, s settings) ([]byte, error) {
	root := oai.Parse((in.Body))
	if !root.IsObject() {
		return nil, oai.BadRequest("", "the request body is not a JSON object")
	}
	var sub [256]byte
	p := params{sub: sub[:0]}
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "stop", "max_tokens", "max_completion_tokens", "tool_choice":
			p.addSub(k, v)
		case "model":
			p.model = v
		case "messages":
			p.messages = v
		case "tools":
			p.tools = v
		case "parallel_tool_calls":
			p.parallel = v
		case "temperature":
			p.temperature = v
		case "top_p":
			p.topP = v
		case "top_k":
			p.topK = v
		case "n":
			p.n = v
		case "user":
			p.user = v
		case "safety_identifier":
			p.safetyID = v
		case "reasoning_effort":
			p.effort = v
		case "response_format":
			p.format = v
		}
		return true
	})
	req := oai.Parse((append(p.sub, '}')))
	if len(p.sub) == 0 {
		req = gjson.Result{}
	}
	if p.n.Type == gjson.Number && p.n.Int() > 1 {
		return nil, oai.BadRequest("n", "n > 1 is not supported by anthropic: it answers one choice")
	}
	if !p.messages.IsArray() {
		return nil, oai.BadRequest("messages", "messages must be a non-empty array")
	}
	budget, ok := thinkingBudget(p.effort.String())
	if !ok {
		return nil, oai.BadRequest("reasoning_effort", "reasoning_effort must be none, minimal, low, medium, high or xhigh")
	}
	model := in.Model
	if model == "" {
		model = p.model.String()
	}

	b := make([]byte, 0, len(in.Body)+256)
	b = append(b, `{"model":`...)
	b = oai.AppendString(b, model)

	// messages, and the system prompt hoisted out of them
	w := turns{b: append(b, `,"messages":[`...)}
	var system []sysPart
	if err := w.messages(p.messages, &system); err != nil {
		return nil, err
	}
	b = append(w.b, ']')
	if len(system) > 0 {
		b = appendSystem(append(b, `,"system":`...), system)
	}

	// tools and tool_choice
	mode, toolName := oai.ToolChoice(req)
	forced := false
	if p.tools.IsArray() && len(p.tools.Raw) > 2 {
		var err error
		n := len(b)
		if b, err = appendTools(append(b, `,"tools":[`...), p.tools); err != nil {
			return nil, err
		}
		if b[len(b)-1] == '[' { // an empty array after all
			b = b[:n]
		} else {
			b = appendToolChoice(append(b, ']'), mode, toolName, p.parallel)
			forced = mode == oai.ChoiceRequired || mode == oai.ChoiceFunction
		}
	}

	if stop := oai.Stop(req); len(stop) > 0 {
		b = append(b, `,"stop_sequences":[`...)
		for i, s := range stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = oai.AppendString(b, s)
		}
		b = append(b, ']')
	}

	// Thinking cannot be enabled when the last assistant turn has tool
	// calls (see the package doc) or when a tool call is forced, and
	// rejects the sampling parameters.
	if w.lastAssistantToolUse || forced {
		budget = 0
	}
	if p.temperature.Type == gjson.Number && budget == 0 {
		b = append(b, `,"temperature":`...)
		switch t := p.temperature.Float(); {
		case t > 1:
			b = append(b, '1')
		case t < 0:
			b = append(b, '0')
		default:
			b = append(b, p.temperature.Raw...)
		}
	}
	if p.topP.Type == gjson.Number && (budget == 0 || p.topP.Float() >= 0.95) {
		b = append(append(b, `,"top_p":`...), p.topP.Raw...)
	}
	if p.topK.Type == gjson.Number && budget == 0 {
		b = append(append(b, `,"top_k":`...), p.topK.Raw...)
	}
	user := p.user
	if user.Type != gjson.String || user.Str == "" {
		user = p.safetyID
	}
	if user.Type == gjson.String && user.Str != "" {
		b = append(b, `,"metadata":{"user_id":`...)
		b = append(oai.AppendString(b, user.Str), '}')
	}

	maxTokens, ok := oai.MaxTokens(req)
	if !ok {
		maxTokens = s.maxTokens
		if limit := modelMaxOutput(model); limit > 0 && limit < maxTokens {
			maxTokens = limit
		}
	}
	if budget > 0 && maxTokens <= budget {
		maxTokens += budget
	}
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, maxTokens, 10)
	if budget > 0 {
		b = append(b, `,"thinking":{"type":"enabled","budget_tokens":`...)
		b = append(strconv.AppendInt(b, budget, 10), '}')
	}

	if p.format.IsObject() {
		switch p.format.Get("type").String() {
		case "json_schema":
			schema := p.format.Get("json_schema.schema")
			if !schema.IsObject() {
				return nil, oai.BadRequest("response_format", "response_format.json_schema.schema must be an object")
			}
			b = append(b, `,"output_config":{"format":{"type":"json_schema","schema":`...)
			b = append(append(b, schema.Raw...), `}}`...)
		case "json_object", "text", "":
		default:
			return nil, oai.BadRequest("response_format", "response_format type "+strconv.Quote(p.format.Get("type").String())+" is not supported by anthropic")
		}
	}
	if in.Flags&abi.FlagStream != 0 {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}'), nil
}

// sysPart is one text part of a system or developer message.
type sysPart struct {
	text  string
	cache string // the part's cache_control (raw JSON), "" when none
	msg   int    // the message's ordinal among system messages
}

// appendSystem appends the system prompt: one string, or text blocks when
// any part asks for caching.
func appendSystem(b []byte, parts []sysPart) []byte {
	blocks := false
	for _, p := range parts {
		blocks = blocks || p.cache != ""
	}
	if blocks {
		b = append(b, '[')
		for i, p := range parts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendText(b, p.text, p.cache)
		}
		return append(b, ']')
	}
	// One string: the JSON literals' insides are concatenated, so no text
	// is decoded or copied twice.
	b = append(b, '"')
	for i, p := range parts {
		if i > 0 && p.msg != parts[i-1].msg {
			b = append(b, `\n\n`...)
		}
		n := len(b)
		b = oai.AppendString(b, p.text)
		b = append(b[:n], b[n+1:len(b)-1]...)
	}
	return append(b, '"')
}

// appendText appends a text block with an optional cache_control.
func appendText(b []byte, text, cache string) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = oai.AppendString(b, text)
	if cache != "" {
		b = append(append(b, `,"cache_control":`...), cache...)
	}
	return append(b, '}')
}

// cacheControl returns a part's cache_control object, "" when none.
func cacheControl(part gjson.Result) string {
	if !part.IsObject() {
		return ""
	}
	if cc := part.Get("cache_control"); cc.IsObject() {
		return cc.Raw
	}
	return ""
}

// imageType returns the media type Anthropic accepts for mt (jpg read as
// jpeg); ok is false for a type it does not accept (jpeg, png, gif, webp).
func imageType(mt string) (string, bool) {
	switch mt {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return mt, true
	case "image/jpg":
		return "image/jpeg", true
	}
	return "", false
}

// appendImage appends an image block for an image_url part.
func appendImage(b []byte, p oai.Part, msg, part int) ([]byte, error) {
	if mt, data, ok := oai.ParseDataURL(p.URL); ok {
		t, ok := imageType(strings.ToLower(mt))
		if !ok {
			return b, oai.BadRequest(msgParam(msg, part, ".image_url"), "image type "+strconv.Quote(mt)+" is not supported by anthropic (jpeg, png, gif, webp)")
		}
		b = append(b, `{"type":"image","source":{"type":"base64","media_type":"`...)
		b = append(b, t...)
		b = append(b, `","data":`...)
		b = oai.AppendString(b, data)
	} else if strings.HasPrefix(p.URL, "https://") || strings.HasPrefix(p.URL, "http://") {
		b = append(b, `{"type":"image","source":{"type":"url","url":`...)
		b = oai.AppendString(b, p.URL)
	} else {
		return b, oai.BadRequest(msgParam(msg, part, ".image_url"), "an image must be an http(s) URL or a base64 data URL")
	}
	b = append(b, '}')
	if cc := cacheControl(p.Raw); cc != "" {
		b = append(append(b, `,"cache_control":`...), cc...)
	}
	return append(b, '}'), nil
}

// appendDocument appends a document block for a file part (a PDF data URL).
func appendDocument(b []byte, p oai.Part, msg, part int) ([]byte, error) {
	mt, data, ok := oai.ParseDataURL(p.Raw.Get("file.file_data").String())
	if !ok || strings.ToLower(mt) != "application/pdf" {
		return b, oai.BadRequest(msgParam(msg, part, ".file"), "anthropic accepts a file only as a PDF data URL in file.file_data")
	}
	b = append(b, `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":`...)
	b = oai.AppendString(b, data)
	b = append(b, '}')
	if cc := cacheControl(p.Raw); cc != "" {
		b = append(append(b, `,"cache_control":`...), cc...)
	}
	return append(b, '}'), nil
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

// appendID appends a tool-call id as Anthropic accepts it: characters
// outside [A-Za-z0-9_-] become "_".
func appendID(b []byte, id string) []byte {
	b = append(b, '"')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			c = '_'
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// appendTools appends the tool definitions (inside the array brackets).
func appendTools(b []byte, tools gjson.Result) ([]byte, error) {
	var err error
	i := 0
	tools.ForEach(func(_, t gjson.Result) bool {
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
		if typ.Exists() && typ.Str != "function" {
			err = oai.BadRequest("tools", "tool type "+strconv.Quote(typ.String())+" is not supported by anthropic")
			return false
		}
		var name, desc, schema gjson.Result
		fn.ForEach(func(k, v gjson.Result) bool {
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
		b = append(b, `{"name":`...)
		b = oai.AppendString(b, name.String())
		if d := desc.String(); d != "" {
			b = append(b, `,"description":`...)
			b = oai.AppendString(b, d)
		}
		b = append(b, `,"input_schema":`...)
		if schema.IsObject() {
			b = append(b, schema.Raw...)
		} else {
			b = append(b, defaultSchema...)
		}
		b = append(b, '}')
		return true
	})
	return b, err
}

// appendToolChoice appends tool_choice from the client's tool_choice and
// parallel_tool_calls.
func appendToolChoice(b []byte, mode, name string, parallel gjson.Result) []byte {
	hasParallel := parallel.Type == gjson.True || parallel.Type == gjson.False
	switch mode {
	case oai.ChoiceAuto:
		b = append(b, `,"tool_choice":{"type":"auto"`...)
	case oai.ChoiceRequired:
		b = append(b, `,"tool_choice":{"type":"any"`...)
	case oai.ChoiceNone:
		return append(b, `,"tool_choice":{"type":"none"}`...)
	case oai.ChoiceFunction:
		b = append(b, `,"tool_choice":{"type":"tool","name":`...)
		b = oai.AppendString(b, name)
	default:
		if !hasParallel {
			return b
		}
		b = append(b, `,"tool_choice":{"type":"auto"`...)
	}
	if hasParallel {
		b = append(b, `,"disable_parallel_tool_use":`...)
		b = strconv.AppendBool(b, parallel.Type == gjson.False)
	}
	return append(b, '}')
}

// turns writes Anthropic's messages array: consecutive blocks of the same
// role share one turn. Each turn's blocks come in two groups: tool_result
// before other content in a user turn, text before tool_use in an
// assistant turn. A block of the first group that arrives after one of the
// second is moved in front of them.
type turns struct {
	b       []byte
	role    string // the open turn's role, "" when none
	n       int    // turns written
	content int    // offset of the open turn's `"content":[`
	blocks  int    // blocks in the open turn
	first   int    // first-group blocks in the open turn
	firstAt int    // where the next first-group block goes
	second  int    // second-group blocks in the open turn
	toolUse int    // tool_use blocks in the open turn
	// plain is set when the open turn's only block is a plain text block,
	// whose string literal is b[litAt:litEnd].
	plain         bool
	litAt, litEnd int
	scratch       []byte
	// lastAssistantToolUse: the last assistant turn has tool_use blocks.
	lastAssistantToolUse bool
}

const contentOpen = `,"content":[`

// begin prepares a block of role and returns where it starts in w.b.
func (w *turns) begin(role string) int {
	if role != w.role {
		w.close()
		if w.n == 0 && role == "assistant" {
			w.b = append(w.b, syntheticUser...)
			w.n++
		}
		if w.n > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, `{"role":"`...)
		w.b = append(w.b, role...)
		w.b = append(w.b, '"')
		w.content = len(w.b)
		w.b = append(w.b, contentOpen...)
		w.role = role
		w.blocks, w.first, w.second, w.toolUse, w.plain = 0, 0, 0, 0, false
		w.firstAt = len(w.b)
	}
	if w.blocks > 0 {
		w.b = append(w.b, ',')
	}
	return len(w.b)
}

// end finishes the block that begin started at start. first tells its
// group; plain marks a text block without cache_control.
func (w *turns) end(start int, first, plain bool) {
	w.blocks++
	w.plain = plain && w.blocks == 1
	if w.plain {
		w.litAt = start + len(`{"type":"text","text":`)
		w.litEnd = len(w.b) - 1
	}
	if !first {
		w.second++
		return
	}
	if w.second == 0 {
		w.first++
		w.firstAt = len(w.b)
		return
	}
	// Move the block (with the comma before it) in front of the second
	// group: ",block" after an earlier first-group block, or "block," at
	// the start of the content.
	seg := w.scratch[:0]
	if w.first > 0 {
		seg = append(seg, w.b[start-1:]...)
	} else {
		seg = append(append(seg, w.b[start:]...), ',')
	}
	w.b = slices.Insert(w.b[:start-1], w.firstAt, seg...)
	w.firstAt += len(seg)
	if w.first == 0 {
		w.firstAt-- // before the comma
	}
	w.first++
	w.scratch = seg
}

// close ends the open turn, as string content when it is one plain text.
func (w *turns) close() {
	if w.role == "" {
		return
	}
	if w.blocks == 1 && w.plain {
		at := w.content + len(`,"content":`)
		n := copy(w.b[at:], w.b[w.litAt:w.litEnd])
		w.b = w.b[:at+n]
	} else {
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, '}')
	if w.role == "assistant" {
		w.lastAssistantToolUse = w.toolUse > 0
	}
	w.role = ""
	w.n++
}

// roleOf reads a message's role as oai.Role does (developer is system),
// from the role member found in the message's one pass.
func roleOf(role gjson.Result) string {
	if role.Str == "developer" {
		return "system"
	}
	return role.String()
}

// messages converts the canonical messages.
func (w *turns) messages(msgs gjson.Result, system *[]sysPart) error {
	var err error
	i, nsys := -1, 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		i++
		var role, content, calls, callID gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				role = v
			case "content":
				content = v
			case "tool_calls":
				calls = v
			case "tool_call_id":
				callID = v
			}
			return true
		})
		switch r := roleOf(role); r {
		case "system":
			if content.Type == gjson.String { // the common case, without a callback
				if content.Str != "" {
					*system = append(*system, sysPart{text: content.Str, msg: nsys})
				}
				nsys++
				break
			}
			oai.EachPart(content, func(p oai.Part) bool {
				if p.Type == "text" && p.Text != "" {
					*system = append(*system, sysPart{text: p.Text, cache: cacheControl(p.Raw), msg: nsys})
				}
				return true
			})
			nsys++
		case "user":
			err = w.userContent(content, i)
		case "assistant":
			err = w.assistant(content, calls, i)
		case "tool":
			err = w.toolResult(callID, content, i)
		default:
			err = oai.BadRequest(msgParam(i, -1, ".role"), "role "+strconv.Quote(r)+" is not supported by anthropic")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if i < 0 {
		return oai.BadRequest("messages", "messages must be a non-empty array")
	}
	w.close()
	if w.n == 0 {
		w.b = append(w.b, syntheticUser...)
		w.n++
	}
	return nil
}

func (w *turns) userContent(content gjson.Result, i int) error {
	if content.Type == gjson.String { // the common case, without a callback
		if content.Str != "" {
			at := w.begin("user")
			w.b = appendText(w.b, content.Str, "")
			w.end(at, false, true)
		}
		return nil
	}
	var err error
	j := -1
	oai.EachPart(content, func(p oai.Part) bool {
		j++
		switch p.Type {
		case "text":
			if p.Text == "" {
				return true
			}
			cc := cacheControl(p.Raw)
			at := w.begin("user")
			w.b = appendText(w.b, p.Text, cc)
			w.end(at, false, cc == "")
		case "image_url":
			at := w.begin("user")
			w.b, err = appendImage(w.b, p, i, j)
			w.end(at, false, false)
		case "file":
			at := w.begin("user")
			w.b, err = appendDocument(w.b, p, i, j)
			w.end(at, false, false)
		default:
			err = oai.BadRequest(msgParam(i, j, ""), "content part type "+strconv.Quote(p.Type)+" is not supported by anthropic")
		}
		return err == nil
	})
	return err
}

func (w *turns) assistant(content, calls gjson.Result, i int) error {
	var err error
	j := -1
	if content.Type == gjson.String { // the common case, without a callback
		if content.Str != "" {
			at := w.begin("assistant")
			w.b = appendText(w.b, content.Str, "")
			w.end(at, true, true)
		}
		content = gjson.Result{}
	}
	oai.EachPart(content, func(p oai.Part) bool {
		j++
		switch p.Type {
		case "text":
			if p.Text != "" {
				at := w.begin("assistant")
				w.b = appendText(w.b, p.Text, "")
				w.end(at, true, true)
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
	if bad := oai.EachToolCall(calls, "anthropic", func(id, name, input string) bool {
		at := w.begin("assistant")
		w.b = append(w.b, `{"type":"tool_use","id":`...)
		w.b = appendID(w.b, id)
		w.b = append(w.b, `,"name":`...)
		w.b = oai.AppendString(w.b, name)
		w.b = append(w.b, `,"input":`...)
		w.b = append(w.b, input...)
		w.b = append(w.b, '}')
		w.end(at, false, false)
		w.toolUse++
		return true
	}); bad != nil {
		return oai.BadRequest(callParam(i, bad.Index, bad.Member), bad.Err)
	}
	return nil
}

func (w *turns) toolResult(callID, content gjson.Result, i int) error {
	if callID.String() == "" {
		return oai.BadRequest(msgParam(i, -1, ".tool_call_id"), "a tool message needs a tool_call_id")
	}
	at := w.begin("user")
	w.b = append(w.b, `{"type":"tool_result","tool_use_id":`...)
	w.b = appendID(w.b, callID.String())
	var err error
	switch {
	case content.Type == gjson.String:
		if content.Str != "" {
			w.b = append(w.b, `,"content":`...)
			w.b = oai.AppendString(w.b, content.Str)
		}
	case content.IsArray():
		n := len(w.b)
		w.b = append(w.b, `,"content":[`...)
		blocks, j := 0, -1
		oai.EachPart(content, func(p oai.Part) bool {
			j++
			if p.Type == "text" && p.Text == "" {
				return true
			}
			if blocks > 0 {
				w.b = append(w.b, ',')
			}
			blocks++
			switch p.Type {
			case "text":
				w.b = appendText(w.b, p.Text, cacheControl(p.Raw))
			case "image_url":
				w.b, err = appendImage(w.b, p, i, j)
			default:
				err = oai.BadRequest(msgParam(i, j, ""), "a tool result may hold only text and images")
			}
			return err == nil
		})
		if blocks == 0 {
			w.b = w.b[:n]
		} else {
			w.b = append(w.b, ']')
		}
	}
	w.b = append(w.b, '}')
	w.end(at, true, false)
	return err
}
