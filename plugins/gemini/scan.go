package main

import "github.com/aignehub/hub/sdk/oai"

// scanGeneral is the second of the stream's readers (see fast.go): it
// reads the same events as scanLayout, and more, in any member order and
// whitespace, with any other members, as a state machine over the tokens
// (in one function: calls are dear in Go's Wasm). It declines (returns
// false) every event it could read otherwise than readEvent would:
//
//   - anything but one valid JSON object (every value it skips is checked
//     to be valid JSON, so that gjson cannot read the event another way);
//   - error and promptFeedback members, function calls, more than one
//     candidate;
//   - a member it reads that is repeated (gjson's Get takes the first one,
//     ForEach the last; repeated token counts are fine: the last one wins
//     in usageOf too) or has an unexpected type;
//   - keys of the members it reads, or an id, model version or finish
//     reason, with an escape (gjson would unescape them);
//   - a text that is not a valid JSON string literal (readEvent re-encodes
//     it);
//   - a token count that is not a plain integer of at most 15 digits
//     (gjson's Int has its own rules for the rest);
//   - nesting deeper than maxDepth.

// What the value about to be read is: a container of the event's
// structure (wRoot … wUsage, also the contexts on the stack), a member the
// event needs (wText … wTok), or anything else (wOther, only checked).
const (
	wOther uint8 = iota
	wRoot
	wCands   // root.candidates
	wCand    // candidates[0]
	wContent // candidates[0].content
	wParts   // candidates[0].content.parts
	wPart    // one of the parts
	wUsage   // root.usageMetadata
	wText    // part.text
	wThought // part.thought
	wFinish  // candidates[0].finishReason
	wModel   // root.modelVersion
	wID      // root.responseId
	wTok     // usageMetadata's counts: wTok + tokPrompt … tokToolUse
)

// Token counts of usageMetadata, as indexes.
const (
	tokPrompt = iota
	tokCandidates
	tokThoughts
	tokCached
	tokToolUse
	nTok
)

// isArray marks an array's context on the stack.
const isArray uint8 = 0x80

// maxDepth bounds the nesting the scanner follows.
const maxDepth = 24

// Scanner states.
const (
	sValue      = iota // a value of kind want
	sAfter             // after a value: ',' or the end of its container
	sKeyOrEnd          // after '{'
	sKey               // after ',' in an object
	sValueOrEnd        // after '['
)

// scanGeneral reads data (trimmed, not empty) into e, which must be zero.
// It returns false, leaving e in any state, for an event readEvent must
// read.
func scanGeneral(b []byte, e *event) bool {
	var stack, seen [maxDepth]uint8
	var tok [nTok]int64
	var lit []byte // the open part's text literal
	thought := false
	d := -1 // the depth of the innermost open container
	want := wRoot
	state := sValue
	i, n := 0, len(b)
	for {
		for i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
		}
		if i >= n {
			return false
		}
		c := b[i]
		switch state {
		case sAfter:
			ctx := stack[d]
			switch {
			case c == ',' && ctx&isArray == 0:
				i++
				state = sKey
				continue
			case c == ',':
				i++
				if ctx == wCands|isArray { // a second candidate
					return false
				}
				want = wOther
				if ctx == wParts|isArray {
					want = wPart
				}
				state = sValue
				continue
			case c == '}' && ctx&isArray == 0:
			case c == ']' && ctx&isArray != 0:
			default:
				return false
			}
			i++
			// Close the container.
			switch ctx {
			case wPart:
				if len(lit) > 2 {
					kind := partText
					if thought {
						kind = partThought
					}
					e.add(part{kind: kind, lit: str(lit)})
				}
			case wUsage:
				e.usage.InputTokens = tok[tokPrompt] + tok[tokToolUse]
				e.usage.OutputTokens = tok[tokCandidates] + tok[tokThoughts]
				e.usage.ReasoningTokens = tok[tokThoughts]
				e.usage.CachedTokens = tok[tokCached]
				e.hasUsage = true
			}
			if d--; d < 0 {
				return i == n // the root object is all there is
			}
			continue

		case sKeyOrEnd:
			if c == '}' {
				state = sAfter // closes it
				continue
			}
			fallthrough
		case sKey:
			if c != '"' {
				return false
			}
			ctx := stack[d]
			if ctx == wOther {
				// Any valid key.
				if i = stringEnd(b, i, false); i < 0 {
					return false
				}
				want = wOther
			} else {
				// A key without escapes, which is then its value.
				start := i
				if i = oai.PlainEnd(b, i); i < 0 {
					return false
				}
				k := str(b[start+1 : i-1])
				var bit uint8
				want = wOther
				switch ctx {
				case wRoot:
					switch k {
					case "candidates":
						want, bit = wCands, 1
					case "usageMetadata":
						want, bit = wUsage, 2
					case "modelVersion":
						want, bit = wModel, 4
					case "responseId":
						want, bit = wID, 8
					case "error", "promptFeedback":
						return false
					}
				case wCand:
					switch k {
					case "content":
						want, bit = wContent, 1
					case "finishReason":
						want, bit = wFinish, 2
					}
				case wContent:
					if k == "parts" {
						want, bit = wParts, 1
					}
				case wPart:
					switch k {
					case "text":
						want, bit = wText, 1
					case "thought":
						want, bit = wThought, 2
					case "functionCall":
						return false
					}
				case wUsage:
					// Repeated counts are fine: the last one wins, as
					// with usageOf's ForEach.
					switch k {
					case "promptTokenCount":
						want = wTok + tokPrompt
					case "candidatesTokenCount":
						want = wTok + tokCandidates
					case "thoughtsTokenCount":
						want = wTok + tokThoughts
					case "cachedContentTokenCount":
						want = wTok + tokCached
					case "toolUsePromptTokenCount":
						want = wTok + tokToolUse
					}
				}
				if seen[d]&bit != 0 {
					return false
				}
				seen[d] |= bit
			}
			for i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
				i++
			}
			if i >= n || b[i] != ':' {
				return false
			}
			i++
			state = sValue
			continue

		case sValueOrEnd:
			if c == ']' {
				state = sAfter // closes it
				continue
			}
			ctx := stack[d]
			want = wOther
			switch ctx {
			case wCands | isArray: // the first candidate (sAfter refuses a second)
				want = wCand
			case wParts | isArray:
				want = wPart
			}
			state = sValue
			// and read the value
		}

		// sValue: a value of kind want at b[i] == c.
		switch {
		case c == '{' || c == '[':
			ctx := want
			if c == '[' {
				switch want {
				case wOther, wCands, wParts:
				default:
					return false
				}
				ctx |= isArray
				state = sValueOrEnd
			} else {
				switch want {
				case wOther, wRoot, wCand, wContent, wUsage:
				case wPart:
					lit, thought = nil, false
				default:
					return false
				}
				state = sKeyOrEnd
			}
			if d++; d == maxDepth {
				return false
			}
			stack[d], seen[d] = ctx, 0
			i++
			continue

		case c == '"':
			start := i
			switch want {
			case wText:
				// A valid literal, as validString checks it.
				if i = stringEnd(b, i, true); i < 0 {
					return false
				}
				lit = b[start:i]
			case wFinish, wModel, wID:
				// No escapes, so that its bytes are gjson's Str.
				if i = oai.PlainEnd(b, i); i < 0 {
					return false
				}
				s := str(b[start+1 : i-1])
				switch want {
				case wFinish:
					e.finish = s
				case wModel:
					e.model = s
				default:
					e.id = s
				}
			case wOther:
				if i = stringEnd(b, i, false); i < 0 {
					return false
				}
			default:
				return false
			}

		case want >= wTok:
			// A plain integer: no sign, no leading zero, at most 15
			// digits (anything else stops at sAfter).
			start := i
			var v int64
			for i < n && b[i]-'0' <= 9 {
				v = v*10 + int64(b[i]-'0')
				i++
			}
			if i == start || i-start > 15 || b[start] == '0' && i-start > 1 {
				return false
			}
			tok[want-wTok] = v

		case want == wThought:
			switch {
			case hasPrefix(b[i:], "true"):
				thought = true
				i += 4
			case hasPrefix(b[i:], "false"):
				i += 5
			default:
				return false
			}

		case want != wOther:
			return false

		case c == 't' && hasPrefix(b[i:], "true"), c == 'n' && hasPrefix(b[i:], "null"):
			i += 4
		case c == 'f' && hasPrefix(b[i:], "false"):
			i += 5

		default:
			// A JSON number.
			if c == '-' {
				i++
			}
			switch {
			case i < n && b[i] == '0':
				i++
			case i < n && b[i]-'1' <= 8:
				for i++; i < n && b[i]-'0' <= 9; i++ {
				}
			default:
				return false
			}
			if i < n && b[i] == '.' {
				i++
				if i >= n || b[i]-'0' > 9 {
					return false
				}
				for i++; i < n && b[i]-'0' <= 9; i++ {
				}
			}
			if i < n && (b[i] == 'e' || b[i] == 'E') {
				i++
				if i < n && (b[i] == '+' || b[i] == '-') {
					i++
				}
				if i >= n || b[i]-'0' > 9 {
					return false
				}
				for i++; i < n && b[i]-'0' <= 9; i++ {
				}
			}
		}
		state = sAfter
	}
}

// validEscape reports whether b[i] ('\\') starts a valid JSON escape.
func validEscape(b []byte, i int) bool {
	if i+1 >= len(b) {
		return false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		return i+6 <= len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5])
	}
	return false
}

// escapeLen is the length of a valid escape whose letter is c.
func escapeLen(c byte) int {
	if c == 'u' {
		return 6
	}
	return 2
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// strPlain marks the bytes that stand for themselves in a JSON string
// literal and need no check: ASCII but control characters, '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
