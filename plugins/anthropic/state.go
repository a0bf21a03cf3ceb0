package main

import (
	"encoding/binary"

	"github.com/aignehub/hub/sdk/oai"
)

// streamState is what travels between calls in the opaque state bytes:
// from Request to Response (flags, created), and from one stream event to
// the next. It is encoded compactly (one flag byte and uvarints, then the
// message id and model), typically 50–70 bytes.
type streamState struct {
	flags   byte
	created int64
	// tools counts the tool_use blocks started: the next one's OpenAI index.
	tools int64
	// toolBlock is Anthropic's index of the open tool_use block plus one;
	// 0 when no tool_use block is open.
	toolBlock int64
	usage     anUsage
	id, model string
}

// State flags.
const (
	flagWantUsage byte = 1 << 0 // the client asked for the usage chunk
	flagToolArgs  byte = 1 << 1 // the open tool_use block sent an argument fragment
	flagFinished  byte = 1 << 2 // the finish chunk was sent
)

const stateVersion = 1

func (s *streamState) append(dst []byte) []byte {
	dst = append(dst, stateVersion, s.flags)
	for _, v := range [...]int64{s.created, s.tools, s.toolBlock, s.usage.input, s.usage.cacheRead, s.usage.cacheWrite, s.usage.output, s.usage.reasoning} {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.id)))
	dst = append(dst, s.id...)
	dst = binary.AppendUvarint(dst, uint64(len(s.model)))
	return append(dst, s.model...)
}

// encode returns the state as new bytes (the old ones may alias the
// host's input, which must not be changed).
func (s *streamState) encode() []byte {
	return s.append(make([]byte, 0, 2+8*4+len(s.id)+len(s.model)+4))
}

// parseState decodes b. id and model alias b. A malformed state decodes
// as far as it goes; the rest stays zero.
func parseState(b []byte) (s streamState) {
	if len(b) < 2 || b[0] != stateVersion {
		return s
	}
	s.flags = b[1]
	b = b[2:]
	for _, p := range [...]*int64{&s.created, &s.tools, &s.toolBlock, &s.usage.input, &s.usage.cacheRead, &s.usage.cacheWrite, &s.usage.output, &s.usage.reasoning} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return s
		}
		*p = int64(v)
		b = b[n:]
	}
	for _, p := range [...]*string{&s.id, &s.model} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return s
		}
		*p = oai.View(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	return s
}
