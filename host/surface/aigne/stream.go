package aigne

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
)

// StreamEncoder turns canonical chat.completion.chunk objects into the SSE
// stream of POST /api/v2/chat: one "data: <AgentResponseDelta>\n\n" event
// per delta, as AIGNE's AgentResponseStreamSSE writes them
// (@aigne/core utils/event-stream.js, line 101), and nothing at the end
// (the stream just closes; a "[DONE]" would fail the client's JSON.parse).
//
// The client's EventStreamParser JSON-parses each event's data and
// AgentResponseStreamParser (lines 38–68) merges it: delta.text.KEY
// strings are appended to output[KEY], delta.json members are assigned.
// The encoder sends what @aigne/openai's stream produces
// (openai-chat-model.js, lines 228–338):
//
//	{"delta":{"json":{"model":"…"}}}            once, from the first chunk naming the model
//	{"delta":{"text":{"thoughts":"…"}}}         each reasoning_content delta
//	{"delta":{"text":{"text":"…"}}}             each content delta (not in JSON mode)
//	{"delta":{"json":{"usage":{…}}}}            the usage chunk
//	{"delta":{"json":{"json":{…}}}}             at the end, in JSON mode, the parsed text
//	{"delta":{"json":{"toolCalls":[…]}}}        at the end, the whole tool calls
//
// Tool-call deltas are gathered by index (names and argument fragments
// concatenated) and sent whole, with parsed arguments, when the stream
// ends. A StreamEncoder is for one stream; it is not safe for concurrent
// use.
type StreamEncoder struct {
	json      bool
	credits   *int64
	modelSent bool
	text      []byte // the content, held in JSON mode
	calls     []pendingCall
	usage     *abi.Usage
}

// pendingCall is a tool call being gathered from its deltas.
type pendingCall struct {
	index int64 // the delta's index; -1 for a delta without one
	id    string
	name  string
	args  []byte
}

// NewStreamEncoder returns an encoder; jsonMode is [OutputOptions].JSON.
func NewStreamEncoder(jsonMode bool) *StreamEncoder { return &StreamEncoder{json: jsonMode} }

// SetCredits records what the call was charged (micro-credits), reported
// by Done as usage.aigneHubCredits.
func (e *StreamEncoder) SetCredits(micro int64) { e.credits = &micro }

// Chunk appends the events for one canonical chunk to dst.
func (e *StreamEncoder) Chunk(dst, chunk []byte) []byte {
	root := gjson.ParseBytes(chunk)
	if !e.modelSent {
		if m := root.Get("model").String(); m != "" {
			e.modelSent = true
			dst = append(dst, `data: {"delta":{"json":{"model":`...)
			dst = oai.AppendString(dst, m)
			dst = append(dst, "}}}\n\n"...)
		}
	}
	root.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		if ch.Get("index").Int() != 0 {
			return true // AIGNE outputs have one answer: the first choice
		}
		d := ch.Get("delta")
		if r := d.Get("reasoning_content").String(); r != "" {
			dst = appendTextDelta(dst, "thoughts", r)
		}
		if c := d.Get("content").String(); c != "" {
			if e.json {
				e.text = append(e.text, c...)
			} else {
				dst = appendTextDelta(dst, "text", c)
			}
		}
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			e.addCall(tc)
			return true
		})
		return true
	})
	if u := root.Get("usage"); u.IsObject() {
		e.usage = oai.ParseUsage(u)
		dst = e.appendUsage(dst, nil)
	}
	return dst
}

// Done appends the events that end a successful stream: the structured
// output in JSON mode, the gathered tool calls, and the usage again with
// the credits charged when they are known.
func (e *StreamEncoder) Done(dst []byte) []byte {
	if len(e.text) > 0 {
		if obj, ok := jsonObject(string(e.text)); ok {
			dst = append(dst, `data: {"delta":{"json":{"json":`...)
			dst = append(dst, obj...)
			dst = append(dst, "}}}\n\n"...)
		} else {
			dst = appendTextDelta(dst, "text", string(e.text))
		}
		e.text = e.text[:0]
	}
	if len(e.calls) > 0 {
		dst = append(dst, `data: {"delta":{"json":{"toolCalls":[`...)
		for i, c := range e.calls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = oai.AppendString(dst, c.id)
			dst = append(dst, `,"type":"function","function":{"name":`...)
			dst = oai.AppendString(dst, c.name)
			dst = append(dst, `,"arguments":`...)
			dst = append(dst, ToolArguments(string(c.args))...)
			dst = append(dst, "}}"...)
		}
		dst = append(dst, "]}}}\n\n"...)
		e.calls = e.calls[:0]
	}
	if e.credits != nil {
		dst = e.appendUsage(dst, e.credits)
	}
	return dst
}

// addCall merges one tool-call delta, as @aigne/openai's
// handleToolCallDelta does (openai-chat-model.js, lines 433–446).
func (e *StreamEncoder) addCall(tc gjson.Result) {
	idx := int64(-1)
	if i := tc.Get("index"); i.Exists() {
		idx = i.Int()
	}
	var c *pendingCall
	if idx >= 0 {
		for k := range e.calls {
			if e.calls[k].index == idx {
				c = &e.calls[k]
				break
			}
		}
	}
	if c == nil {
		e.calls = append(e.calls, pendingCall{index: idx})
		c = &e.calls[len(e.calls)-1]
		c.id = "call_" + strconv.Itoa(len(e.calls)-1)
	}
	if id := tc.Get("id").String(); id != "" {
		c.id = id
	}
	c.name += tc.Get("function.name").String()
	c.args = append(c.args, tc.Get("function.arguments").String()...)
}

// appendUsage appends the usage event (zero tokens when the provider
// reported none).
func (e *StreamEncoder) appendUsage(dst []byte, credits *int64) []byte {
	u := e.usage
	if u == nil {
		u = &abi.Usage{}
	}
	b, _ := marshal(newUsage(u, credits))
	dst = append(dst, `data: {"delta":{"json":{"usage":`...)
	dst = append(dst, b...)
	return append(dst, "}}}\n\n"...)
}

// appendTextDelta appends {"delta":{"text":{key:text}}}.
func appendTextDelta(dst []byte, key, text string) []byte {
	dst = append(dst, `data: {"delta":{"text":{"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	dst = oai.AppendString(dst, text)
	return append(dst, "}}}\n\n"...)
}
