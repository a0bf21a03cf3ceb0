package main

import (
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"github.com/aignehub/hub/sdk/oai"
)

// The stream's fast paths. Nearly every event of a Gemini stream is a
// GenerateContentResponse of one candidate with text (or thought) parts,
// the cumulative usageMetadata and the model and response ids, in one
// layout:
//
//	{"candidates": [{"content": {"parts": [{"text": "…"}],"role": "model"},"index": 0}],
//	 "usageMetadata": {"promptTokenCount": 43,"candidatesTokenCount": 14,…},
//	 "modelVersion": "gemini-2.5-flash","responseId": "…"}
//
// (on one line, with or without the space after each colon). In Go's Wasm
// every jump to another basic block of a function goes through the
// function's br_table, an indirect branch, so byte-at-a-time parsing,
// gjson's included, costs several nanoseconds a byte, and calls are dear
// too. scanEvent therefore tries two readers before the general one:
//
//   - scanLayout matches that layout as a few fixed strings, compared a
//     word at a time, with holes for the values, whose strings it scans a
//     word at a time;
//   - scanGeneral (scan.go) reads any member order and whitespace, and
//     members the event does not need, a token at a time;
//   - readEvent (stream.go), gjson, reads anything.
//
// Each of the first two declines (returns false) every event it could read
// otherwise than readEvent would: both accept only valid JSON; refuse
// repeated members (gjson's Get takes the first one, ForEach the last), but
// for token counts (the last one wins, as in usageOf); refuse keys and read
// strings with escapes (gjson unescapes them), texts that are not valid
// JSON string literals (readEvent re-encodes them), token counts that are
// not plain integers of at most 15 digits (gjson's Int has its own rules
// for the rest), error and promptFeedback members, function calls and
// second candidates. A declined event costs the scans so far, then
// readEvent's. fast_test.go holds the three readers to the same results,
// on a corpus and by fuzzing.

// scanEvent reads data (trimmed, not empty) into e, which must be zero. It
// returns false, leaving e in any state, for an event readEvent must read.
func scanEvent(b []byte, e *event) bool {
	if scanLayout(b, e) {
		return true
	}
	*e = event{}
	return scanGeneral(b, e)
}

// scanLayout reads an event of the common layout (see above): after the
// text parts, the content may have a role; the candidate's other members
// may be finishReason and index; the root's, usageMetadata, modelVersion
// and responseId, in any order; usageMetadata's, counts and modality
// lists (see scanUsage).
func scanLayout(b []byte, e *event) bool {
	n := len(b)
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !lCandidates.At(b, p, 0) {
		return false
	}
	i := space(b, lCandidates.N)
	if !lContent.At(b, p, i) {
		return false
	}
	i = space(b, i+lContent.N)
	if !lParts.At(b, p, i) {
		return false
	}
	i = space(b, i+lParts.N)
	if i >= n || b[i] != '[' {
		return false
	}
	i++
	for {
		if !lText.At(b, p, i) {
			return false
		}
		i = space(b, i+lText.N)
		start := i
		if i = textEnd(b, i); i < 0 || i+1 >= n {
			return false
		}
		lit := b[start:i]
		kind := partText
		if b[i] == ',' {
			if !lThought.At(b, p, i) {
				return false
			}
			// "thought": true (false is rare)
			if i = space(b, i+lThought.N); i+5 >= n || b[i] != 't' || b[i+1] != 'r' || b[i+2] != 'u' || b[i+3] != 'e' {
				return false
			}
			kind = partThought
			i += 4
		}
		if b[i] != '}' {
			return false
		}
		if len(lit) > 2 {
			e.add(part{kind: kind, lit: str(lit)})
		}
		i++
		if b[i] == ']' {
			break
		}
		if b[i] != ',' {
			return false
		}
		i++
	}
	i++
	if lRole.At(b, p, i) {
		if i = space(b, i+lRole.N); lModelRole.At(b, p, i) {
			i += lModelRole.N - 1
		} else if i = oai.PlainEnd(b, i); i < 0 {
			return false
		}
	}
	if i >= n || b[i] != '}' {
		return false
	}
	i++
	// The candidate's other members.
	for i < n && b[i] == ',' {
		switch {
		case e.finish == "" && lFinish.At(b, p, i):
			j := space(b, i+lFinish.N)
			if i = oai.PlainEnd(b, j); i < 0 || i-j == 2 { // an empty reason could be repeated
				return false
			}
			e.finish = str(b[j+1 : i-1])
		case lIndex.At(b, p, i):
			if _, i = count(b, space(b, i+lIndex.N)); i < 0 {
				return false
			}
		default:
			return false
		}
	}
	if i+1 >= n || b[i] != '}' || b[i+1] != ']' {
		return false
	}
	i += 2
	// The root's other members.
	var seen uint8
	for i < n && b[i] == ',' {
		var bit uint8
		switch {
		case lUsage.At(b, p, i):
			bit = 1
			i = scanUsage(b, space(b, i+lUsage.N), e)
		case lModel.At(b, p, i):
			bit = 2
			j := space(b, i+lModel.N)
			if i = oai.PlainEnd(b, j); i >= 0 {
				e.model = str(b[j+1 : i-1])
			}
		case lID.At(b, p, i):
			bit = 4
			j := space(b, i+lID.N)
			if i = oai.PlainEnd(b, j); i >= 0 {
				e.id = str(b[j+1 : i-1])
			}
		default:
			return false
		}
		if i < 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return i == n-1 && b[i] == '}'
}

// The layout's fixed strings.
var (
	lCandidates = oai.NewLit(`{"candidates":`)
	lContent    = oai.NewLit(`[{"content":`)
	lParts      = oai.NewLit(`{"parts":`)
	lText       = oai.NewLit(`{"text":`)
	lThought    = oai.NewLit(`,"thought":`)
	lRole       = oai.NewLit(`,"role":`)
	lModelRole  = oai.NewLit(`"model"}`)
	lFinish     = oai.NewLit(`,"finishReason":`)
	lIndex      = oai.NewLit(`,"index":`)
	lUsage      = oai.NewLit(`,"usageMetadata":`)
	lModel      = oai.NewLit(`,"modelVersion":`)
	lID         = oai.NewLit(`,"responseId":`)

	lPromptCount     = oai.NewLit(`"promptTokenCount":`)
	lCandidatesCount = oai.NewLit(`"candidatesTokenCount":`)
	lTotalCount      = oai.NewLit(`"totalTokenCount":`)
	lThoughtsCount   = oai.NewLit(`"thoughtsTokenCount":`)
	lCachedCount     = oai.NewLit(`"cachedContentTokenCount":`)
	lToolUseCount    = oai.NewLit(`"toolUsePromptTokenCount":`)
	lPromptDetails   = oai.NewLit(`"promptTokensDetails":`)
	lCandDetails     = oai.NewLit(`"candidatesTokensDetails":`)
	lCacheDetails    = oai.NewLit(`"cacheTokensDetails":`)
	lToolUseDetails  = oai.NewLit(`"toolUsePromptTokensDetails":`)
	lModality        = oai.NewLit(`{"modality":`)
	lTokenCount      = oai.NewLit(`,"tokenCount":`)
)

// The first eight letters of usageMetadata's keys, as words (see
// TestKeyWords).
const (
	wPromptTo = 0x6f5474706d6f7270 // promptTokenCount, promptTokensDetails
	wCandidat = 0x74616469646e6163 // candidatesTokenCount, candidatesTokensDetails
	wTotalTok = 0x6b6f546c61746f74 // totalTokenCount
	wThoughts = 0x73746867756f6874 // thoughtsTokenCount
	wCachedCo = 0x6f43646568636163 // cachedContentTokenCount
	wCacheTok = 0x6b6f546568636163 // cacheTokensDetails
	wToolUseP = 0x506573556c6f6f74 // toolUsePromptTokenCount, toolUsePromptTokensDetails
)

// scanUsage reads the usageMetadata object at b[i] into e and returns the
// offset past it, or -1. Its members may be the counts (plain integers)
// and the …TokensDetails lists of {"modality": "…","tokenCount": N}.
func scanUsage(b []byte, i int, e *event) int {
	const (
		total   = -1 // totalTokenCount, not needed
		details = -2 // a modality list
	)
	n := len(b)
	p := unsafe.Pointer(unsafe.SliceData(b))
	if i >= n || b[i] != '{' {
		return -1
	}
	var tok [nTok]int64
	i++
	if i < n && b[i] == '}' {
		i++
	} else {
		for {
			// The key's first eight letters tell the keys apart but for
			// a count and a list of the same prefix.
			if n-i < 9 || b[i] != '"' {
				return -1
			}
			var slot int
			var l *oai.Lit
			switch oai.Word(p, i+1) {
			case wPromptTo:
				slot, l = tokPrompt, &lPromptCount
				if !l.At(b, p, i) {
					slot, l = details, &lPromptDetails
				}
			case wCandidat:
				slot, l = tokCandidates, &lCandidatesCount
				if !l.At(b, p, i) {
					slot, l = details, &lCandDetails
				}
			case wTotalTok:
				slot, l = total, &lTotalCount
			case wThoughts:
				slot, l = tokThoughts, &lThoughtsCount
			case wCachedCo:
				slot, l = tokCached, &lCachedCount
			case wCacheTok:
				slot, l = details, &lCacheDetails
			case wToolUseP:
				slot, l = tokToolUse, &lToolUseCount
				if !l.At(b, p, i) {
					slot, l = details, &lToolUseDetails
				}
			default:
				return -1
			}
			if !l.At(b, p, i) {
				return -1
			}
			i += l.N
			i = space(b, i)
			if slot != details {
				// Repeated counts are fine: the last one wins, as
				// with usageOf's ForEach.
				var v int64
				if v, i = count(b, i); i < 0 {
					return -1
				}
				if slot >= 0 {
					tok[slot] = v
				}
			} else if i = modalities(b, p, i); i < 0 {
				return -1
			}
			if i >= n {
				return -1
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return -1
			}
			i++
		}
	}
	e.usage.InputTokens = tok[tokPrompt] + tok[tokToolUse]
	e.usage.OutputTokens = tok[tokCandidates] + tok[tokThoughts]
	e.usage.ReasoningTokens = tok[tokThoughts]
	e.usage.CachedTokens = tok[tokCached]
	e.hasUsage = true
	return i
}

// modalities skips the ModalityTokenCount list at b[i]:
// [{"modality": "TEXT","tokenCount": 43},…].
func modalities(b []byte, p unsafe.Pointer, i int) int {
	n := len(b)
	if i+1 >= n || b[i] != '[' {
		return -1
	}
	if b[i+1] == ']' {
		return i + 2
	}
	for {
		// b[i] is '[' or ','.
		if !lModality.At(b, p, i+1) {
			return -1
		}
		i = space(b, i+1+lModality.N)
		// A short modality name ("TEXT", "IMAGE", …) is in one word.
		if i+9 > n || b[i] != '"' {
			return -1
		}
		if m := oai.Stops(oai.Word(p, i+1)) & oai.Highs; m != 0 {
			i += 1 + bits.TrailingZeros64(m)>>3
			if b[i] != '"' {
				return -1
			}
			i++
		} else if i = oai.PlainEnd(b, i); i < 0 {
			return -1
		}
		if !lTokenCount.At(b, p, i) {
			return -1
		}
		if _, i = count(b, space(b, i+lTokenCount.N)); i < 0 || i+1 >= n || b[i] != '}' {
			return -1
		}
		i++
		if b[i] == ']' {
			return i + 1
		}
		if b[i] != ',' {
			return -1
		}
	}
}

// count reads the plain integer at b[i] (no sign, no leading zero, at most
// 15 digits) and returns it and the offset past it, or -1.
func count(b []byte, i int) (int64, int) {
	start := i
	var v int64
	for i < len(b) && b[i]-'0' <= 9 {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == start || i-start > 15 || b[start] == '0' && i-start > 1 {
		return 0, -1
	}
	return v, i
}

// space skips the one space that may follow a colon.
func space(b []byte, i int) int {
	if i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

// textEnd returns the offset past the string at b[i] ('"') if it is a
// literal validString accepts (valid escapes, no control characters, valid
// UTF-8), or -1.
func textEnd(b []byte, i int) int { return stringEnd(b, i, true) }

// stringEnd returns the offset past the valid JSON string at b[i] ('"'),
// or -1. Its bytes above ASCII must be valid UTF-8 if checkUTF8 is set.
func stringEnd(b []byte, i int, checkUTF8 bool) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	var high uint64 // oai.Highs when bytes above ASCII stop the scan
	if checkUTF8 {
		high = oai.Highs
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	for i++; i < len(b); {
		if i+8 <= len(b) {
			x := oai.Word(p, i)
			if m := (oai.Stops(x) | x&high) & oai.Highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
			} else {
				i += 8
				continue
			}
		}
		switch c := b[i]; {
		case strPlain[c] || c >= utf8.RuneSelf && !checkUTF8:
			i++
		case c == '"':
			return i + 1
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		case c == '\\' && validEscape(b, i):
			i += escapeLen(b[i+1])
		default:
			return -1
		}
	}
	return -1
}
