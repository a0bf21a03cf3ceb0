package main

import (
	"encoding/binary"

	"github.com/aignehub/hub/sdk/oai"
)

// state is what travels between calls in the opaque state bytes: from
// Request to Response (the completion's id, model and created time), and
// from one stream event to the next. It is encoded compactly (a version
// byte, a flag byte, uvarints, then the id and model), typically 50–80
// bytes, and re-encoded only when a flag or counter changes, so a text
// delta, the common event, costs no encoding.
type state struct {
	flags   byte
	created int64
	// tools counts the toolUse blocks started: the next one's OpenAI index.
	tools int64
	// toolBlock is Bedrock's contentBlockIndex of the open toolUse block
	// plus one; 0 when none is open.
	toolBlock int64
	id, model string
}

// State flags.
const (
	flagWantUsage byte = 1 << 0 // the client asked for the usage chunk
	flagStarted   byte = 1 << 1 // the role chunk was sent
	flagToolArgs  byte = 1 << 2 // the open toolUse block sent an argument fragment
	flagFinished  byte = 1 << 3 // the finish chunk was sent
)

const stateVersion = 1

// encode returns the state as new bytes: the old ones may alias the host's
// input, which must not be changed.
func (s *state) encode() []byte {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+2*binary.MaxVarintLen32+len(s.id)+len(s.model))
	b = append(b, stateVersion, s.flags)
	for _, v := range [...]int64{s.created, s.tools, s.toolBlock} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for _, t := range [...]string{s.id, s.model} {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return b
}

// parseState decodes b. id and model alias b (see str). A malformed state
// decodes as far as it goes; the rest stays zero.
func parseState(b []byte) (s state) {
	if len(b) < 2 || b[0] != stateVersion {
		return s
	}
	s.flags = b[1]
	b = b[2:]
	for _, p := range [...]*int64{&s.created, &s.tools, &s.toolBlock} {
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

// str views b as a string without copying. The plugin uses it only for
// input bytes that stay unchanged for the whole call (the request body, the
// state, an event's data) and never keeps the string past the call.
