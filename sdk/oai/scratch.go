package oai

import (
	"bytes"
	"strings"
	"sync/atomic"

	"github.com/aignehub/hub/sdk/abi"
)

// Scratch is what a plugin's StreamEvent reuses from one event to the next
// so that the common event allocates nothing: the buffer its chunks are
// written in (Buf), the usage it reports (Usage), and the frames of the
// stream's delta chunks. Chunks and usage must stay valid until the SDK has
// copied them into the export's result, at the end of the export call, so a
// scratch belongs to one StreamOut (the SDK's dispatcher reuses one for
// every call; a Wasm instance has one dispatcher and runs one call at a
// time): its buffer starts over only when that StreamOut holds no chunks
// yet (a new call), and a call for another StreamOut gets a new scratch.
// The scratch is only a cache: what a call returns never depends on what an
// earlier call left in it.
type Scratch struct {
	Buf    []byte
	Usage  abi.Usage
	owner  *abi.StreamOut
	frames *Frames // the last stream's, nil before the first
}

// ScratchPool keeps a plugin's one Scratch between calls. The zero value is
// ready; it is safe for concurrent use (natively, calls may run
// concurrently).
type ScratchPool struct{ p atomic.Pointer[Scratch] }

// The scratch buffer's first size, and the size above which it is not
// kept from one call to the next.
const (
	scratchSize = 1 << 10
	ScratchMax  = 64 << 10
)

// Take returns the scratch for out, for the caller alone until it is Put
// back.
func (sp *ScratchPool) Take(out *abi.StreamOut) *Scratch {
	sc := sp.p.Swap(nil)
	switch {
	case sc == nil:
		return &Scratch{owner: out, Buf: make([]byte, 0, scratchSize)}
	case sc.owner != out:
		// Another StreamOut's chunks may still point into sc.Buf: leave
		// it to them. Frames are never modified, so they can be shared.
		return &Scratch{owner: out, Buf: make([]byte, 0, scratchSize), frames: sc.frames}
	case len(out.Chunks) == 0 && cap(sc.Buf) > ScratchMax:
		sc.Buf = make([]byte, 0, scratchSize) // let a huge event's buffer go
	case len(out.Chunks) == 0:
		sc.Buf = sc.Buf[:0]
	}
	return sc
}

// Put keeps sc for the next call.
func (sp *ScratchPool) Put(sc *Scratch) { sp.p.Store(sc) }

// Frames are the content and reasoning delta chunks of one stream (id,
// model, created) around their text.
type Frames struct {
	id, model          string // copies
	created            int64
	Content, Reasoning Frame
}

// FramesFor returns the frames of s's chunks, made anew when s is not the
// stream of the last ones.
func (sc *Scratch) FramesFor(s *Stream) *Frames {
	if f := sc.frames; f != nil && f.id == s.ID && f.model == s.Model && f.created == s.Created {
		return f
	}
	f := &Frames{id: strings.Clone(s.ID), model: strings.Clone(s.Model), created: s.Created}
	w := &Stream{ID: f.id, Model: f.model, Created: f.created} // s stays on the caller's stack
	f.Content = frameOf(w.AppendContent)
	f.Reasoning = frameOf(w.AppendReasoning)
	sc.frames = f
	return f
}

// A Frame is a chunk writer's output around the JSON string literal it is
// given: writing a chunk is then three copies.
type Frame struct {
	head, tail []byte
	write      func(dst []byte, raw string) []byte // the writer, when it did not show one frame
}

// frameOf finds write's frame by writing two chunks, and keeps write
// itself if they do not share one.
func frameOf(write func(dst []byte, raw string) []byte) Frame {
	const probe = `"\u0000"`
	a, b := write(nil, probe), write(nil, `"x"`)
	if at := bytes.Index(a, []byte(probe)); at >= 0 {
		head, tail := a[:at:at], a[at+len(probe):]
		if string(b) == string(head)+`"x"`+string(tail) {
			return Frame{head: head, tail: tail}
		}
	}
	return Frame{write: write}
}

// Append writes the chunk of lit, a valid JSON string literal.
func (f *Frame) Append(dst []byte, lit string) []byte {
	if f.write != nil {
		return f.write(dst, lit)
	}
	dst = append(dst, f.head...)
	dst = append(dst, lit...)
	return append(dst, f.tail...)
}
