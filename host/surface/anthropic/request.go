package anthropic

import (
	"bytes"
	"math"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/oai"
)

// ToCanonical converts an Anthropic Messages request body into the hub's
// canonical request (OpenAI chat-completions JSON; see the package doc for
// the mapping) and returns the model the client named and whether it asked
// for a stream. A body Anthropic would reject is a 400 whose message names
// the offending field, in Anthropic's style ("max_tokens: Field required").
func ToCanonical(body []byte) (canonical []byte, model string, stream bool, err *apierr.Error) {
	f, aerr := readFields(body, true)
	if aerr != nil {
		return nil, "", false, aerr
	}
	c := converter{b: make([]byte, 0, len(body)+len(body)/8+256)}
	if aerr := c.convert(&f); aerr != nil {
		return nil, "", false, aerr
	}
	return c.b, f.model.Str, f.stream.Type == gjson.True, nil
}

// fields are the top-level members of a Messages request, found in one
// pass and type-checked. A member set to null counts as absent.
type fields struct {
	model, maxTokens, messages, system, stream, temperature, topP, topK, stop,
	metadata, tools, toolChoice, thinking, outputConfig gjson.Result
}

// bad is a 400 about param, whose message starts with the param as
// Anthropic's messages do.
func bad(param, msg string) *apierr.Error {
	return apierr.BadRequest(param, param+": "+msg)
}

func required(param string) *apierr.Error { return bad(param, "Field required") }

// readFields parses body and checks the members' types. requireMax says
// max_tokens is required (it is for messages, not for count_tokens).
func readFields(body []byte, requireMax bool) (f fields, aerr *apierr.Error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || !gjson.ValidBytes(trimmed) {
		return f, apierr.BadRequest("", "The request body is not valid JSON: it must be a JSON object.")
	}
	gjson.ParseBytes(trimmed).ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model":
			f.model = v
		case "max_tokens":
			f.maxTokens = v
		case "messages":
			f.messages = v
		case "system":
			f.system = v
		case "stream":
			f.stream = v
		case "temperature":
			f.temperature = v
		case "top_p":
			f.topP = v
		case "top_k":
			f.topK = v
		case "stop_sequences":
			f.stop = v
		case "metadata":
			f.metadata = v
		case "tools":
			f.tools = v
		case "tool_choice":
			f.toolChoice = v
		case "thinking":
			f.thinking = v
		case "output_config":
			f.outputConfig = v
		}
		return true
	})
	switch {
	case !f.model.Exists():
		return f, required("model")
	case f.model.Type != gjson.String:
		return f, bad("model", "Input should be a valid string")
	case f.model.Str == "":
		return f, bad("model", "String should have at least 1 character")
	}
	switch {
	case !f.maxTokens.Exists():
		if requireMax {
			return f, required("max_tokens")
		}
	case !isInt(f.maxTokens):
		return f, bad("max_tokens", "Input should be a valid integer")
	case f.maxTokens.Num < 1:
		return f, bad("max_tokens", "Input should be greater than or equal to 1")
	}
	switch {
	case !f.messages.Exists():
		return f, required("messages")
	case !f.messages.IsArray():
		return f, bad("messages", "Input should be a valid list")
	}
	if f.stream.Exists() && !f.stream.IsBool() {
		return f, bad("stream", "Input should be a valid boolean")
	}
	for _, n := range []struct {
		v     gjson.Result
		name  string
		limit float64
	}{{f.temperature, "temperature", 1}, {f.topP, "top_p", 1}} {
		switch {
		case !n.v.Exists():
		case n.v.Type != gjson.Number:
			return f, bad(n.name, "Input should be a valid number")
		case n.v.Num < 0:
			return f, bad(n.name, "Input should be greater than or equal to 0")
		case n.v.Num > n.limit:
			return f, bad(n.name, "Input should be less than or equal to 1")
		}
	}
	switch {
	case !f.topK.Exists():
	case !isInt(f.topK):
		return f, bad("top_k", "Input should be a valid integer")
	case f.topK.Num < 0:
		return f, bad("top_k", "Input should be greater than or equal to 0")
	}
	if f.stop.Exists() {
		if !f.stop.IsArray() {
			return f, bad("stop_sequences", "Input should be a valid list")
		}
		i := 0
		f.stop.ForEach(func(_, v gjson.Result) bool {
			if v.Type != gjson.String {
				aerr = bad("stop_sequences."+strconv.Itoa(i), "Input should be a valid string")
			}
			i++
			return aerr == nil
		})
		if aerr != nil {
			return f, aerr
		}
	}
	if f.metadata.Exists() {
		if !f.metadata.IsObject() {
			return f, bad("metadata", "Input should be a valid dictionary")
		}
		if u := f.metadata.Get("user_id"); u.Exists() && u.Type != gjson.Null && u.Type != gjson.String {
			return f, bad("metadata.user_id", "Input should be a valid string")
		}
	}
	if f.tools.Exists() && !f.tools.IsArray() {
		return f, bad("tools", "Input should be a valid list")
	}
	if f.toolChoice.Exists() && !f.toolChoice.IsObject() {
		return f, bad("tool_choice", "Input should be a valid dictionary")
	}
	if f.thinking.Exists() && !f.thinking.IsObject() {
		return f, bad("thinking", "Input should be a valid dictionary")
	}
	if f.outputConfig.Exists() && !f.outputConfig.IsObject() {
		return f, bad("output_config", "Input should be a valid dictionary")
	}
	return f, nil
}

// isInt reports whether v is a JSON number with an integral value that
// fits an int64.
func isInt(v gjson.Result) bool {
	return v.Type == gjson.Number && v.Num == math.Trunc(v.Num) && math.Abs(v.Num) < 1<<53
}

// converter writes the canonical request.
type converter struct {
	b []byte
	// n counts the messages written.
	n int
	// parts and text are scratch buffers: a user turn's non-tool parts, an
	// assistant turn's text, reasoning and tool calls.
	parts, text, reasoning, calls []byte
}

func (c *converter) convert(f *fields) *apierr.Error {
	c.b = append(c.b, `{"model":`...)
	c.b = append(c.b, oai.Literal(f.model)...)
	c.b = append(c.b, `,"messages":[`...)
	if f.system.Exists() {
		if err := c.system(f.system); err != nil {
			return err
		}
	}
	if err := c.messages(f.messages); err != nil {
		return err
	}
	c.b = append(c.b, ']')
	if f.maxTokens.Exists() {
		c.b = append(c.b, `,"max_completion_tokens":`...)
		c.b = strconv.AppendInt(c.b, int64(f.maxTokens.Num), 10)
	}
	if f.stream.Type == gjson.True {
		c.b = append(c.b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	if f.temperature.Exists() {
		c.b = append(append(c.b, `,"temperature":`...), f.temperature.Raw...)
	}
	if f.topP.Exists() {
		c.b = append(append(c.b, `,"top_p":`...), f.topP.Raw...)
	}
	if f.topK.Exists() {
		c.b = append(c.b, `,"top_k":`...)
		c.b = strconv.AppendInt(c.b, int64(f.topK.Num), 10)
	}
	if f.stop.Exists() && len(f.stop.Array()) > 0 {
		c.b = append(c.b, `,"stop":[`...)
		i := 0
		f.stop.ForEach(func(_, v gjson.Result) bool {
			if i > 0 {
				c.b = append(c.b, ',')
			}
			i++
			c.b = append(c.b, oai.Literal(v)...)
			return true
		})
		c.b = append(c.b, ']')
	}
	ntools := 0
	if f.tools.Exists() {
		n := len(c.b)
		c.b = append(c.b, `,"tools":[`...)
		var err *apierr.Error
		if ntools, err = c.toolList(f.tools); err != nil {
			return err
		}
		if ntools == 0 {
			c.b = c.b[:n]
		} else {
			c.b = append(c.b, ']')
		}
	}
	if f.toolChoice.Exists() {
		if err := c.toolChoice(f.toolChoice, ntools > 0); err != nil {
			return err
		}
	}
	if u := f.metadata.Get("user_id"); u.Type == gjson.String && u.Str != "" {
		c.b = append(append(c.b, `,"user":`...), oai.Literal(u)...)
	}
	effort, err := reasoningEffort(f)
	if err != nil {
		return err
	}
	if effort != "" {
		c.b = append(c.b, `,"reasoning_effort":"`...)
		c.b = append(c.b, effort...)
		c.b = append(c.b, '"')
	}
	if format := f.outputConfig.Get("format"); format.Exists() && format.Type != gjson.Null {
		if !format.IsObject() || format.Get("type").String() != "json_schema" {
			return bad("output_config.format.type", "Input should be 'json_schema'")
		}
		schema := format.Get("schema")
		if !schema.IsObject() {
			return required("output_config.format.schema")
		}
		c.b = append(c.b, `,"response_format":{"type":"json_schema","json_schema":{"name":"output","schema":`...)
		c.b = append(c.b, schema.Raw...)
		c.b = append(c.b, `}}`...)
	}
	c.b = append(c.b, '}')
	return nil
}

// Thinking budgets at which the canonical reasoning effort steps up: the
// anthropic plugin maps low, medium and high back to 1024, 4096 and 16384.
const (
	budgetMedium = 4096
	budgetHigh   = 16384
	minBudget    = 1024
)

// reasoningEffort maps thinking and output_config.effort to the canonical
// reasoning_effort ("" for none).
func reasoningEffort(f *fields) (string, *apierr.Error) {
	effort := ""
	if t := f.thinking; t.Exists() {
		switch typ := t.Get("type"); typ.String() {
		case "enabled":
			b := t.Get("budget_tokens")
			switch {
			case !b.Exists():
				return "", required("thinking.enabled.budget_tokens")
			case !isInt(b):
				return "", bad("thinking.enabled.budget_tokens", "Input should be a valid integer")
			case b.Num < minBudget:
				return "", bad("thinking.enabled.budget_tokens", "Input should be greater than or equal to 1024")
			case f.maxTokens.Exists() && f.maxTokens.Num <= b.Num:
				return "", bad("max_tokens", "max_tokens must be greater than thinking.budget_tokens")
			case b.Num < budgetMedium:
				effort = "low"
			case b.Num < budgetHigh:
				effort = "medium"
			default:
				effort = "high"
			}
		case "adaptive":
			effort = "medium"
		case "disabled":
		default:
			return "", bad("thinking.type", "Input should be 'enabled', 'adaptive' or 'disabled'")
		}
	}
	if e := f.outputConfig.Get("effort"); e.Exists() && e.Type != gjson.Null {
		switch e.String() {
		case "low", "medium", "high":
			effort = e.Str
		case "max":
			effort = "high"
		default:
			return "", bad("output_config.effort", "Input should be 'low', 'medium', 'high' or 'max'")
		}
	}
	return effort, nil
}

// msg starts a message in the messages array.
func (c *converter) msg(role string) {
	if c.n > 0 {
		c.b = append(c.b, ',')
	}
	c.n++
	c.b = append(c.b, `{"role":"`...)
	c.b = append(c.b, role...)
	c.b = append(c.b, `","content":`...)
}

func cacheControl(block gjson.Result) string {
	if cc := block.Get("cache_control"); cc.IsObject() {
		return cc.Raw
	}
	return ""
}

// appendTextPart appends a canonical text part; lit is a JSON string literal.
func appendTextPart(dst []byte, lit, cache string) []byte {
	dst = append(dst, `{"type":"text","text":`...)
	dst = append(dst, lit...)
	if cache != "" {
		dst = append(append(dst, `,"cache_control":`...), cache...)
	}
	return append(dst, '}')
}

// system writes the system prompt as the first message.
func (c *converter) system(sys gjson.Result) *apierr.Error {
	if sys.Type == gjson.String {
		if sys.Str != "" {
			c.msg("system")
			c.b = append(c.b, oai.Literal(sys)...)
			c.b = append(c.b, '}')
		}
		return nil
	}
	if !sys.IsArray() {
		return bad("system", "Input should be a valid string or a list of text blocks")
	}
	c.parts = c.parts[:0]
	var err *apierr.Error
	n, cached, i := 0, false, -1
	var only gjson.Result
	sys.ForEach(func(_, blk gjson.Result) bool {
		i++
		p := "system." + strconv.Itoa(i)
		if !blk.IsObject() {
			err = bad(p, "Input should be a valid dictionary")
			return false
		}
		if t := blk.Get("type").String(); t != "text" {
			err = bad(p+".type", "Input should be 'text'")
			return false
		}
		text := blk.Get("text")
		if text.Type != gjson.String {
			err = bad(p+".text", "Input should be a valid string")
			return false
		}
		if text.Str == "" {
			return true
		}
		cc := cacheControl(blk)
		cached = cached || cc != ""
		if n > 0 {
			c.parts = append(c.parts, ',')
		}
		n++
		only = text
		c.parts = appendTextPart(c.parts, oai.Literal(text), cc)
		return true
	})
	switch {
	case err != nil:
		return err
	case n == 0:
	case n == 1 && !cached:
		c.msg("system")
		c.b = append(append(c.b, oai.Literal(only)...), '}')
	default:
		c.msg("system")
		c.b = append(append(append(c.b, '['), c.parts...), "]}"...)
	}
	return nil
}

func (c *converter) messages(msgs gjson.Result) *apierr.Error {
	var err *apierr.Error
	i := -1
	msgs.ForEach(func(_, m gjson.Result) bool {
		i++
		p := "messages." + strconv.Itoa(i)
		if !m.IsObject() {
			err = bad(p, "Input should be a valid dictionary")
			return false
		}
		var role, content gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				role = v
			case "content":
				content = v
			}
			return true
		})
		switch {
		case !content.Exists() || content.Type == gjson.Null:
			err = required(p + ".content")
			return false
		case content.Type != gjson.String && !content.IsArray():
			err = bad(p+".content", "Input should be a valid string or a list of content blocks")
			return false
		}
		switch {
		case !role.Exists() || role.Type == gjson.Null:
			err = required(p + ".role")
		case role.Type == gjson.String && role.Str == "user":
			err = c.user(content, p)
		case role.Type == gjson.String && role.Str == "assistant":
			err = c.assistant(content, p)
		default:
			err = bad(p+".role", "Input should be 'user' or 'assistant'")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if i < 0 {
		return bad("messages", "List should have at least 1 item after validation, not 0")
	}
	return nil
}

// block reads a content block's type, checking that it is an object.
func block(blk gjson.Result, p string) (string, *apierr.Error) {
	if !blk.IsObject() {
		return "", bad(p, "Input should be a valid dictionary")
	}
	t := blk.Get("type")
	if t.Type != gjson.String {
		return "", required(p + ".type")
	}
	return t.Str, nil
}

// stringField returns blk's member name, which must be a string (non-empty
// when nonEmpty).
func stringField(blk gjson.Result, name, p string, nonEmpty bool) (gjson.Result, *apierr.Error) {
	v := blk.Get(name)
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return v, required(p + "." + name)
	case v.Type != gjson.String:
		return v, bad(p+"."+name, "Input should be a valid string")
	case nonEmpty && v.Str == "":
		return v, bad(p+"."+name, "String should have at least 1 character")
	}
	return v, nil
}

// user writes a user turn: its tool results as tool messages, then the
// rest of its content as one user message.
func (c *converter) user(content gjson.Result, p string) *apierr.Error {
	if content.Type == gjson.String {
		c.msg("user")
		c.b = append(append(c.b, oai.Literal(content)...), '}')
		return nil
	}
	c.parts = c.parts[:0]
	var err *apierr.Error
	n, plain, j := 0, false, -1
	var only gjson.Result
	content.ForEach(func(_, blk gjson.Result) bool {
		j++
		bp := p + ".content." + strconv.Itoa(j)
		var typ string
		if typ, err = block(blk, bp); err != nil {
			return false
		}
		if typ == "tool_result" {
			err = c.toolResult(blk, bp)
			return err == nil
		}
		if n > 0 {
			c.parts = append(c.parts, ',')
		}
		start := len(c.parts)
		switch typ {
		case "text":
			var text gjson.Result
			if text, err = stringField(blk, "text", bp, false); err != nil {
				return false
			}
			cc := cacheControl(blk)
			plain, only = cc == "", text
			c.parts = appendTextPart(c.parts, oai.Literal(text), cc)
		case "image":
			c.parts, err = appendImage(c.parts, blk, bp)
		case "document":
			c.parts, err = appendDocument(c.parts, blk, bp)
		case "tool_use", "thinking", "redacted_thinking":
			err = bad(bp+".type", "'"+typ+"' blocks are only allowed in assistant messages")
		default:
			err = bad(bp+".type", "content block type '"+typ+"' is not supported by the hub")
		}
		if err != nil {
			return false
		}
		if len(c.parts) == start { // nothing written (an empty document)
			if n > 0 {
				c.parts = c.parts[:start-1]
			}
			return true
		}
		n++
		return true
	})
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		if j < 0 {
			return bad(p+".content", "List should have at least 1 item after validation, not 0")
		}
	case n == 1 && plain && bytes.HasPrefix(c.parts, []byte(`{"type":"text"`)):
		c.msg("user")
		c.b = append(append(c.b, oai.Literal(only)...), '}')
	default:
		c.msg("user")
		c.b = append(append(append(c.b, '['), c.parts...), "]}"...)
	}
	return nil
}

// imageTypes are the media types Anthropic accepts for images.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// appendImage appends an image block as a canonical image_url part.
func appendImage(dst []byte, blk gjson.Result, p string) ([]byte, *apierr.Error) {
	src := blk.Get("source")
	if !src.IsObject() {
		return dst, required(p + ".source")
	}
	sp := p + ".source"
	switch t := src.Get("type").String(); t {
	case "base64":
		mt, err := stringField(src, "media_type", sp, true)
		if err != nil {
			return dst, err
		}
		if !imageTypes[mt.Str] {
			return dst, bad(sp+".media_type", "Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")
		}
		data, err := stringField(src, "data", sp, true)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `{"type":"image_url","image_url":{"url":"data:`...)
		dst = append(dst, mt.Str...)
		dst = append(dst, ";base64,"...)
		dst = oai.AppendEscaped(dst, data.Str)
		dst = append(dst, `"}`...)
	case "url":
		u, err := stringField(src, "url", sp, true)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `{"type":"image_url","image_url":{"url":`...)
		dst = append(dst, oai.Literal(u)...)
		dst = append(dst, '}')
	default:
		return dst, bad(sp+".type", "image source type '"+t+"' is not supported by the hub (use 'base64' or 'url')")
	}
	if cc := cacheControl(blk); cc != "" {
		dst = append(append(dst, `,"cache_control":`...), cc...)
	}
	return append(dst, '}'), nil
}

// appendDocument appends a document block: a base64 PDF as a canonical
// file part, plain text (or text content blocks) as text parts.
func appendDocument(dst []byte, blk gjson.Result, p string) ([]byte, *apierr.Error) {
	src := blk.Get("source")
	if !src.IsObject() {
		return dst, required(p + ".source")
	}
	sp := p + ".source"
	cc := cacheControl(blk)
	switch t := src.Get("type").String(); t {
	case "base64":
		mt, err := stringField(src, "media_type", sp, true)
		if err != nil {
			return dst, err
		}
		if mt.Str != "application/pdf" {
			return dst, bad(sp+".media_type", "Input should be 'application/pdf'")
		}
		data, err := stringField(src, "data", sp, true)
		if err != nil {
			return dst, err
		}
		name := "document.pdf"
		if title := blk.Get("title"); title.Type == gjson.String && title.Str != "" {
			name = title.Str
		}
		dst = append(dst, `{"type":"file","file":{"filename":`...)
		dst = oai.AppendString(dst, name)
		dst = append(dst, `,"file_data":"data:application/pdf;base64,`...)
		dst = oai.AppendEscaped(dst, data.Str)
		dst = append(dst, `"}`...)
		if cc != "" {
			dst = append(append(dst, `,"cache_control":`...), cc...)
		}
		return append(dst, '}'), nil
	case "text":
		data, err := stringField(src, "data", sp, false)
		if err != nil {
			return dst, err
		}
		if data.Str == "" {
			return dst, nil
		}
		return appendTextPart(dst, oai.Literal(data), cc), nil
	case "content":
		content := src.Get("content")
		if content.Type == gjson.String {
			if content.Str == "" {
				return dst, nil
			}
			return appendTextPart(dst, oai.Literal(content), cc), nil
		}
		if !content.IsArray() {
			return dst, bad(sp+".content", "Input should be a valid string or a list of content blocks")
		}
		var err *apierr.Error
		n, j := 0, -1
		content.ForEach(func(_, b gjson.Result) bool {
			j++
			bp := sp + ".content." + strconv.Itoa(j)
			var typ string
			if typ, err = block(b, bp); err != nil {
				return false
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			switch typ {
			case "text":
				var text gjson.Result
				if text, err = stringField(b, "text", bp, false); err == nil {
					dst = appendTextPart(dst, oai.Literal(text), "")
				}
			case "image":
				dst, err = appendImage(dst, b, bp)
			default:
				err = bad(bp+".type", "Input should be 'text' or 'image'")
			}
			n++
			return err == nil
		})
		return dst, err
	default:
		return dst, bad(sp+".type", "document source type '"+t+"' is not supported by the hub (use 'base64' for a PDF, or 'text')")
	}
}

// toolResult writes a tool_result block as a canonical tool message.
func (c *converter) toolResult(blk gjson.Result, p string) *apierr.Error {
	id, err := stringField(blk, "tool_use_id", p, true)
	if err != nil {
		return err
	}
	content := blk.Get("content")
	c.msg("tool")
	// msg wrote `"content":` first; the tool_call_id goes after it.
	switch {
	case !content.Exists() || content.Type == gjson.Null:
		c.b = append(c.b, `""`...)
	case content.Type == gjson.String:
		c.b = append(c.b, oai.Literal(content)...)
	case content.IsArray():
		if err := c.toolResultBlocks(content, p+".content"); err != nil {
			return err
		}
	default:
		return bad(p+".content", "Input should be a valid string or a list of content blocks")
	}
	c.b = append(c.b, `,"tool_call_id":`...)
	c.b = append(c.b, oai.Literal(id)...)
	c.b = append(c.b, '}')
	return nil
}

// toolResultBlocks writes a tool result's block content: the texts joined
// by "\n" when there are only texts (a string is what every
// OpenAI-compatible server takes), else text and image parts.
func (c *converter) toolResultBlocks(content gjson.Result, p string) *apierr.Error {
	images := false
	var err *apierr.Error
	j := -1
	content.ForEach(func(_, blk gjson.Result) bool {
		j++
		bp := p + "." + strconv.Itoa(j)
		var typ string
		if typ, err = block(blk, bp); err != nil {
			return false
		}
		switch typ {
		case "text":
			_, err = stringField(blk, "text", bp, false)
		case "image":
			images = true
		case "document", "search_result":
			err = bad(bp+".type", "'"+typ+"' blocks in tool results are not supported by the hub")
		default:
			err = bad(bp+".type", "Input should be 'text' or 'image'")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if !images {
		c.b = append(c.b, '"')
		n := 0
		content.ForEach(func(_, blk gjson.Result) bool {
			if n > 0 {
				c.b = append(c.b, `\n`...)
			}
			n++
			c.b = oai.AppendEscaped(c.b, blk.Get("text").Str)
			return true
		})
		c.b = append(c.b, '"')
		return nil
	}
	c.b = append(c.b, '[')
	j = -1
	content.ForEach(func(_, blk gjson.Result) bool {
		j++
		if j > 0 {
			c.b = append(c.b, ',')
		}
		if blk.Get("type").Str == "text" {
			c.b = appendTextPart(c.b, oai.Literal(blk.Get("text")), cacheControl(blk))
			return true
		}
		c.b, err = appendImage(c.b, blk, p+"."+strconv.Itoa(j))
		return err == nil
	})
	c.b = append(c.b, ']')
	return err
}

// assistant writes an assistant turn: text concatenated into content,
// thinking into reasoning_content, tool_use blocks as tool_calls.
func (c *converter) assistant(content gjson.Result, p string) *apierr.Error {
	if content.Type == gjson.String {
		c.msg("assistant")
		c.b = append(append(c.b, oai.Literal(content)...), '}')
		return nil
	}
	c.text, c.reasoning, c.calls = c.text[:0], c.reasoning[:0], c.calls[:0]
	hasText, ncalls := false, 0
	var err *apierr.Error
	j := -1
	content.ForEach(func(_, blk gjson.Result) bool {
		j++
		bp := p + ".content." + strconv.Itoa(j)
		var typ string
		if typ, err = block(blk, bp); err != nil {
			return false
		}
		switch typ {
		case "text":
			var text gjson.Result
			if text, err = stringField(blk, "text", bp, false); err == nil {
				c.text = oai.AppendEscaped(c.text, text.Str)
				hasText = true
			}
		case "thinking":
			var text gjson.Result
			if text, err = stringField(blk, "thinking", bp, false); err == nil {
				c.reasoning = oai.AppendEscaped(c.reasoning, text.Str)
			}
		case "redacted_thinking":
		case "tool_use":
			var id, name gjson.Result
			if id, err = stringField(blk, "id", bp, true); err != nil {
				return false
			}
			if name, err = stringField(blk, "name", bp, true); err != nil {
				return false
			}
			input := blk.Get("input")
			if input.Exists() && input.Type != gjson.Null && !input.IsObject() {
				err = bad(bp+".input", "Input should be a valid dictionary")
				return false
			}
			if ncalls > 0 {
				c.calls = append(c.calls, ',')
			}
			ncalls++
			c.calls = append(c.calls, `{"id":`...)
			c.calls = append(c.calls, oai.Literal(id)...)
			c.calls = append(c.calls, `,"type":"function","function":{"name":`...)
			c.calls = append(c.calls, oai.Literal(name)...)
			c.calls = append(c.calls, `,"arguments":`...)
			raw := ""
			if input.IsObject() {
				raw = input.Raw
			}
			c.calls = oai.AppendStringOfJSON(c.calls, raw)
			c.calls = append(c.calls, `}}`...)
		case "tool_result", "image", "document":
			err = bad(bp+".type", "'"+typ+"' blocks are only allowed in user messages")
		default:
			err = bad(bp+".type", "content block type '"+typ+"' is not supported by the hub")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if !hasText && ncalls == 0 && len(c.reasoning) == 0 {
		return nil // nothing the canonical form can carry (e.g. only redacted thinking)
	}
	c.msg("assistant")
	if !hasText && ncalls > 0 {
		c.b = append(c.b, "null"...)
	} else {
		c.b = append(append(append(c.b, '"'), c.text...), '"')
	}
	if len(c.reasoning) > 0 {
		c.b = append(c.b, `,"reasoning_content":"`...)
		c.b = append(append(c.b, c.reasoning...), '"')
	}
	if ncalls > 0 {
		c.b = append(c.b, `,"tool_calls":[`...)
		c.b = append(append(c.b, c.calls...), ']')
	}
	c.b = append(c.b, '}')
	return nil
}

// toolList writes the tool definitions (inside the array brackets) and
// returns how many there are.
func (c *converter) toolList(tools gjson.Result) (int, *apierr.Error) {
	var err *apierr.Error
	i := -1
	tools.ForEach(func(_, t gjson.Result) bool {
		i++
		p := "tools." + strconv.Itoa(i)
		if !t.IsObject() {
			err = bad(p, "Input should be a valid dictionary")
			return false
		}
		if typ := t.Get("type"); typ.Exists() && typ.Type != gjson.Null && typ.String() != "custom" {
			err = bad(p+".type", "tool type '"+typ.String()+"' is an Anthropic server tool, which the hub cannot run; only custom tools (name, description, input_schema) are supported")
			return false
		}
		var name gjson.Result
		if name, err = stringField(t, "name", p, true); err != nil {
			return false
		}
		schema := t.Get("input_schema")
		if !schema.IsObject() {
			if !schema.Exists() || schema.Type == gjson.Null {
				err = required(p + ".input_schema")
			} else {
				err = bad(p+".input_schema", "Input should be a valid dictionary")
			}
			return false
		}
		if i > 0 {
			c.b = append(c.b, ',')
		}
		c.b = append(c.b, `{"type":"function","function":{"name":`...)
		c.b = append(c.b, oai.Literal(name)...)
		if d := t.Get("description"); d.Type == gjson.String && d.Str != "" {
			c.b = append(append(c.b, `,"description":`...), oai.Literal(d)...)
		}
		c.b = append(append(c.b, `,"parameters":`...), schema.Raw...)
		if s := t.Get("strict"); s.IsBool() {
			c.b = append(c.b, `,"strict":`...)
			c.b = strconv.AppendBool(c.b, s.Type == gjson.True)
		}
		c.b = append(c.b, `}}`...)
		return true
	})
	return i + 1, err
}

// toolChoice writes tool_choice and parallel_tool_calls, when there are
// tools (OpenAI rejects both without tools).
func (c *converter) toolChoice(tc gjson.Result, haveTools bool) *apierr.Error {
	var choice []byte
	switch typ := tc.Get("type").String(); typ {
	case "auto":
		choice = []byte(`"auto"`)
	case "any":
		choice = []byte(`"required"`)
	case "none":
		choice = []byte(`"none"`)
	case "tool":
		name, err := stringField(tc, "name", "tool_choice", true)
		if err != nil {
			return err
		}
		choice = append([]byte(`{"type":"function","function":{"name":`), oai.Literal(name)...)
		choice = append(choice, `}}`...)
	default:
		return bad("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
	}
	dp := tc.Get("disable_parallel_tool_use")
	if dp.Exists() && dp.Type != gjson.Null && !dp.IsBool() {
		return bad("tool_choice.disable_parallel_tool_use", "Input should be a valid boolean")
	}
	if !haveTools {
		return nil
	}
	c.b = append(append(c.b, `,"tool_choice":`...), choice...)
	if dp.Type == gjson.True && string(choice) != `"none"` {
		c.b = append(c.b, `,"parallel_tool_calls":false`...)
	}
	return nil
}
