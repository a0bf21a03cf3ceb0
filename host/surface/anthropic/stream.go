package anthropic

import (
	"slices"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
)

// blockKind is the type of an open content block.
type blockKind uint8

const (
	noBlock blockKind = iota
	textBlock
	thinkingBlock
	toolBlock
)

// StreamEncoder turns the canonical chunks of one stream into Anthropic's
// SSE events (MAPPING.md §7, "OA chunks → AN SSE"):
//
//   - the first chunk opens the message (message_start);
//   - reasoning_content deltas go to a thinking block, content (and
//     refusal) deltas to a text block, each tool call to its own tool_use
//     block whose argument fragments are input_json_delta events; a block
//     is opened when output of another kind arrives, and closed
//     (content_block_stop) when the next one opens or the stream ends;
//   - ping follows the first content_block_start;
//   - the finish reason and the usage chunk are held until [StreamEncoder.Done],
//     which writes message_delta (stop_reason and the usage) and
//     message_stop.
//
// Tool calls are expected one after the other, as every provider streams
// them; argument fragments for a call whose block was already closed
// (another call's fragments came in between) cannot be represented in
// Anthropic's stream and are dropped.
//
// An encoder is not safe for concurrent use; it serves one stream.
type StreamEncoder struct {
	meta    Meta
	input   int64 // the input token estimate for message_start
	id      string
	started bool
	pinged  bool
	done    bool
	next    int       // the index of the next block
	open    blockKind // the kind of the open block
	tool    int       // the canonical index of the open tool call
	closed  []int     // canonical indexes of the tool calls whose blocks are closed
	ntools  int       // tool calls seen
	finish  string
	usage   abi.Usage
	hasUse  bool
	// delivered counts the bytes of generated text, for an output estimate
	// when no usage chunk came.
	delivered int64
}

// NewStreamEncoder returns an encoder for one stream. inputTokens is the
// input_tokens reported in message_start (an estimate: the exact counts
// come with the usage chunk, in message_delta).
func NewStreamEncoder(meta Meta, inputTokens int64) *StreamEncoder {
	return &StreamEncoder{meta: meta, input: inputTokens}
}

// Started reports whether message_start was written.
func (e *StreamEncoder) Started() bool { return e.started }

// event appends one SSE event; data is appended by fn.
func event(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	return append(dst, "\ndata: "...)
}

func end(dst []byte) []byte { return append(dst, "\n\n"...) }

func (e *StreamEncoder) start(dst []byte, id, model string) []byte {
	e.started = true
	e.id = e.meta.id(id)
	dst = event(dst, "message_start")
	dst = append(dst, `{"type":"message_start","message":{"id":`...)
	dst = oai.AppendString(dst, e.id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = oai.AppendString(dst, e.meta.model(model))
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	dst = oai.AppendInt(dst, e.input)
	dst = append(dst, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`...)
	return end(dst)
}

// Chunk appends the events for one canonical chunk (none for a chunk that
// is not a JSON object or carries nothing to show).
func (e *StreamEncoder) Chunk(dst, chunk []byte) []byte {
	if e.done {
		return dst
	}
	root := gjson.ParseBytes(chunk)
	if !root.IsObject() {
		return dst
	}
	var id, model, choices, usage gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "model":
			model = v
		case "choices":
			choices = v
		case "usage":
			usage = v
		}
		return true
	})
	if !e.started {
		dst = e.start(dst, id.String(), model.String())
	}
	if usage.IsObject() {
		e.usage, e.hasUse = *oai.ParseUsage(usage), true
	}
	choices.ForEach(func(_, ch gjson.Result) bool {
		if i := ch.Get("index"); i.Exists() && i.Int() != 0 {
			return true // the hub asks for one choice; ignore any other
		}
		var delta, finish gjson.Result
		ch.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "delta":
				delta = v
			case "finish_reason":
				finish = v
			}
			return true
		})
		dst = e.delta(dst, delta)
		if finish.Type == gjson.String && finish.Str != "" {
			e.finish = finish.Str
		}
		return false
	})
	return dst
}

func (e *StreamEncoder) delta(dst []byte, delta gjson.Result) []byte {
	content, reasoning, refusal, calls := messageFields(delta)
	if reasoning.Type == gjson.String && reasoning.Str != "" {
		dst = e.openBlock(dst, thinkingBlock, "", "")
		dst = e.textDelta(dst, "thinking_delta", "thinking", reasoning)
	}
	for _, t := range [...]gjson.Result{content, refusal} {
		if t.Type == gjson.String && t.Str != "" {
			dst = e.openBlock(dst, textBlock, "", "")
			dst = e.textDelta(dst, "text_delta", "text", t)
		}
	}
	j := -1
	calls.ForEach(func(_, tc gjson.Result) bool {
		j++
		idx := j
		var tid, fn gjson.Result
		tc.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "index":
				idx = int(v.Int())
			case "id":
				tid = v
			case "function":
				fn = v
			}
			return true
		})
		if e.open != toolBlock || e.tool != idx {
			if slices.Contains(e.closed, idx) {
				return true // see the type doc: cannot reopen a closed block
			}
			id := tid.String()
			if id == "" {
				id = oai.ToolCallID(e.id, e.ntools)
			}
			dst = e.openBlock(dst, toolBlock, id, fn.Get("name").String())
			e.tool = idx
		}
		if args := fn.Get("arguments"); args.Type == gjson.String && args.Str != "" {
			dst = e.textDelta(dst, "input_json_delta", "partial_json", args)
		}
		return true
	})
	return dst
}

// open_ makes sure a block of kind is open, closing the open block of
// another kind (a tool block is always new: id and name are its own).
func (e *StreamEncoder) openBlock(dst []byte, kind blockKind, id, name string) []byte {
	if e.open == kind && kind != toolBlock {
		return dst
	}
	dst = e.close(dst)
	e.open = kind
	dst = event(dst, "content_block_start")
	dst = append(dst, `{"type":"content_block_start","index":`...)
	dst = oai.AppendInt(dst, int64(e.next))
	switch kind {
	case textBlock:
		dst = append(dst, `,"content_block":{"type":"text","text":""}}`...)
	case thinkingBlock:
		dst = append(dst, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case toolBlock:
		e.ntools++
		dst = append(dst, `,"content_block":{"type":"tool_use","id":`...)
		dst = oai.AppendString(dst, id)
		dst = append(dst, `,"name":`...)
		dst = oai.AppendString(dst, name)
		dst = append(dst, `,"input":{}}}`...)
	}
	dst = end(dst)
	if !e.pinged {
		e.pinged = true
		dst = append(dst, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	}
	return dst
}

// textDelta appends a content_block_delta of type typ whose member field
// holds v's text.
func (e *StreamEncoder) textDelta(dst []byte, typ, field string, v gjson.Result) []byte {
	e.delivered += int64(len(v.Str))
	dst = event(dst, "content_block_delta")
	dst = append(dst, `{"type":"content_block_delta","index":`...)
	dst = oai.AppendInt(dst, int64(e.next))
	dst = append(dst, `,"delta":{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","`...)
	dst = append(dst, field...)
	dst = append(dst, `":`...)
	dst = append(dst, oai.Literal(v)...)
	return end(append(dst, `}}`...))
}

// close ends the open block, if any.
func (e *StreamEncoder) close(dst []byte) []byte {
	if e.open == noBlock {
		return dst
	}
	if e.open == toolBlock {
		e.closed = append(e.closed, e.tool)
	}
	e.open = noBlock
	dst = event(dst, "content_block_stop")
	dst = append(dst, `{"type":"content_block_stop","index":`...)
	dst = oai.AppendInt(dst, int64(e.next))
	e.next++
	return end(append(dst, '}'))
}

// Done appends the events that end a complete stream: the open block's
// content_block_stop, message_delta (stop reason and usage) and
// message_stop. It writes message_start first when no chunk came.
func (e *StreamEncoder) Done(dst []byte) []byte {
	if e.done {
		return dst
	}
	if !e.started {
		dst = e.start(dst, "", "")
	}
	e.done = true
	dst = e.close(dst)
	if !e.pinged {
		e.pinged = true
		dst = append(dst, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	}
	dst = event(dst, "message_delta")
	dst = append(dst, `{"type":"message_delta","delta":{"stop_reason":`...)
	dst = oai.AppendString(dst, StopReason(e.finish, e.ntools > 0))
	dst = append(dst, `,"stop_sequence":null},"usage":`...)
	if e.hasUse {
		dst = appendUsage(dst, &e.usage)
	} else {
		dst = append(dst, `{"output_tokens":`...)
		dst = append(oai.AppendInt(dst, (e.delivered+3)/4), '}')
	}
	dst = end(append(dst, '}'))
	dst = event(dst, "message_stop")
	return end(append(dst, `{"type":"message_stop"}`...))
}

// Usage returns the usage of the stream's usage chunk; ok is false when
// none came (yet).
func (e *StreamEncoder) Usage() (u abi.Usage, ok bool) { return e.usage, e.hasUse }
