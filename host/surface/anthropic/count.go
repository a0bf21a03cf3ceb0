package anthropic

import (
	"encoding/base64"
	"image"
	_ "image/gif" // image.DecodeConfig reads GIF headers
	_ "image/jpeg"
	_ "image/png"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
)

// Constants of the token estimate (see CountTokens).
const (
	// promptTokens is the prompt's fixed overhead, messageTokens each
	// turn's (role markers); together they make Anthropic's documented
	// count_tokens example (a one-line system prompt and "Hello, Claude":
	// 14 tokens) come out right.
	promptTokens  = 3
	messageTokens = 3
	// blockTokens is the framing of a tool_use or tool_result block and of
	// a tool definition.
	blockTokens = 5
	// toolPromptTokens is the system prompt Anthropic adds when tools are
	// given (346 with tool_choice auto or none, 313 with any or tool, for
	// Claude 4 models, per Anthropic's tool-use pricing table).
	toolPromptTokens       = 346
	toolPromptForcedTokens = 313
	// maxImageTokens is the cost of an image at the size Anthropic scales
	// images down to (about 1.15 megapixels); it is used when the size is
	// unknown (a URL, which is not fetched, or a WebP).
	maxImageTokens = 1600
	// maxImageEdge is the long edge Anthropic scales larger images down to.
	maxImageEdge = 1568
	// pdfPageTokens is a PDF page: its text (1,500–3,000 tokens per
	// Anthropic) and the page's image.
	pdfPageTokens = 3000
)

// CountTokens estimates the input tokens of a Messages request, for
// POST /v1/messages/count_tokens. The body is validated as [ToCanonical]
// does, except that max_tokens is optional.
//
// The estimate is local: no tokenizer for Claude is available offline, and
// counting must not cost an upstream call. It adds:
//
//   - text (system, text blocks, tool results, thinking is not counted:
//     Anthropic drops earlier turns' thinking from the context): a
//     word-piece heuristic close to BPE tokenizers on English and code.
//     A run of letters counts one token per 5 letters (rounded up; a
//     letter outside ASCII weighs 2), digits one per 3, punctuation one
//     per 2, a run of whitespace other than a single space one, and each
//     CJK character (Han, kana, Hangul) or other symbol (emoji) one;
//   - JSON (tool inputs, tool schemas): the same heuristic over the
//     compact JSON text;
//   - images: Anthropic's formula, width × height / 750 after scaling the
//     long edge down to 1568 pixels, at most 1600; the size is read from
//     the PNG, JPEG or GIF header of a base64 image, and 1600 is assumed
//     for URLs and WebP;
//   - PDF documents: 3000 tokens a page (the page count is read from the
//     PDF's page objects);
//   - overheads: 3 for the prompt, 3 per turn, 5 per tool_use, tool_result
//     or tool definition, and the tool-use system prompt (346 tokens, 313
//     when tool_choice forces a tool) when tools are given.
//
// It is an estimate: expect it within about 10–20% of Anthropic's count on
// ordinary English text, and the exact count from the usage of the call
// itself.
func CountTokens(body []byte) (tokens int64, model string, err *apierr.Error) {
	f, aerr := readFields(body, false)
	if aerr != nil {
		return 0, "", aerr
	}
	c := converter{b: make([]byte, 0, 256)}
	if aerr := c.convert(&f); aerr != nil { // validation only
		return 0, "", aerr
	}
	return estimate(&f), f.model.Str, nil
}

// EstimateTokens is CountTokens for a body already validated (by
// ToCanonical): the estimate alone, 0 for a body that does not parse.
func EstimateTokens(body []byte) int64 {
	f, aerr := readFields(body, false)
	if aerr != nil {
		return 0
	}
	return estimate(&f)
}

// estimate is the estimate of CountTokens.
func estimate(f *fields) int64 {
	n := int64(promptTokens)
	if f.system.Type == gjson.String {
		n += textTokens(f.system.Str)
	} else {
		f.system.ForEach(func(_, b gjson.Result) bool {
			n += textTokens(b.Get("text").Str)
			return true
		})
	}
	f.messages.ForEach(func(_, m gjson.Result) bool {
		n += messageTokens + contentTokens(m.Get("content"))
		return true
	})
	if tools := f.tools.Array(); len(tools) > 0 {
		switch f.toolChoice.Get("type").Str {
		case "any", "tool":
			n += toolPromptForcedTokens
		default:
			n += toolPromptTokens
		}
		for _, t := range tools {
			n += blockTokens + textTokens(t.Get("name").Str) + textTokens(t.Get("description").Str) + jsonTokens(t.Get("input_schema"))
		}
	}
	return n
}

// contentTokens estimates a message's (or tool result's) content.
func contentTokens(content gjson.Result) int64 {
	if content.Type == gjson.String {
		return textTokens(content.Str)
	}
	var n int64
	content.ForEach(func(_, b gjson.Result) bool {
		switch b.Get("type").Str {
		case "text":
			n += textTokens(b.Get("text").Str)
		case "image":
			n += imageTokens(b.Get("source"))
		case "document":
			n += documentTokens(b.Get("source"))
		case "tool_use":
			n += blockTokens + textTokens(b.Get("name").Str) + jsonTokens(b.Get("input"))
		case "tool_result":
			n += blockTokens + contentTokens(b.Get("content"))
		}
		return true
	})
	return n
}

// jsonTokens estimates a JSON value by its compact text.
func jsonTokens(v gjson.Result) int64 {
	if !v.Exists() {
		return 0
	}
	return textTokens(compact(v.Raw))
}

// compact returns raw without insignificant whitespace.
func compact(raw string) string {
	var w strings.Builder
	w.Grow(len(raw))
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			w.WriteByte(c)
			if c == '\\' && i+1 < len(raw) {
				i++
				w.WriteByte(raw[i])
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			w.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			w.WriteByte(c)
		}
	}
	return w.String()
}

// textTokens is the word-piece heuristic described at CountTokens.
func textTokens(s string) int64 {
	var n int64
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			j := i
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j-i > 1 { // indentation; a single space joins the next word
				n++
			}
			i = j
		case c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
				i++
			}
			n++
		case '0' <= c && c <= '9':
			j := i
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			n += int64(j-i+2) / 3
			i = j
		case isWordStart(s, i):
			weight := 0
			for i < len(s) {
				if c := s[i]; c < utf8.RuneSelf {
					if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
						break
					}
					weight++
					i++
					continue
				}
				r, size := utf8.DecodeRuneInString(s[i:])
				if !(unicode.IsLetter(r) || unicode.IsMark(r)) || isCJK(r) {
					break
				}
				weight += 2
				i += size
			}
			n += int64(weight+4) / 5
		case c < utf8.RuneSelf:
			j := i
			for j < len(s) && s[j] < utf8.RuneSelf && isPunct(s[j]) {
				j++
			}
			n += int64(j-i+1) / 2
			i = j
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			n++ // CJK, emoji, other symbols, invalid bytes
			i += size
		}
	}
	return n
}

// isWordStart reports whether s[i] starts a run of letters (ASCII, or
// letters and marks outside ASCII other than CJK).
func isWordStart(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return (unicode.IsLetter(r) || unicode.IsMark(r)) && !isCJK(r)
}

func isPunct(c byte) bool {
	return c > ' ' && c < 0x7f && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// imageTokens estimates an image source.
func imageTokens(src gjson.Result) int64 {
	if src.Get("type").Str != "base64" {
		return maxImageTokens
	}
	r := base64.NewDecoder(base64.StdEncoding, strings.NewReader(src.Get("data").Str))
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return maxImageTokens
	}
	return imageTokensFor(cfg.Width, cfg.Height)
}

// imageTokensFor is Anthropic's image cost for a w × h image.
func imageTokensFor(w, h int) int64 {
	if w <= 0 || h <= 0 {
		return maxImageTokens
	}
	if long := max(w, h); long > maxImageEdge {
		w = max(1, w*maxImageEdge/long)
		h = max(1, h*maxImageEdge/long)
	}
	return min((int64(w)*int64(h)+749)/750, maxImageTokens)
}

// pdfPage matches a PDF page object's type (not the /Pages tree nodes).
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// documentTokens estimates a document source.
func documentTokens(src gjson.Result) int64 {
	switch src.Get("type").Str {
	case "text":
		return textTokens(src.Get("data").Str)
	case "content":
		return contentTokens(src.Get("content"))
	case "base64":
		pdf, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, strings.NewReader(src.Get("data").Str)))
		if err != nil && len(pdf) == 0 {
			return pdfPageTokens
		}
		return int64(max(1, len(pdfPage.FindAllIndex(pdf, -1)))) * pdfPageTokens
	}
	return pdfPageTokens
}
