package framing

import (
	"bytes"
	"io"
	"testing"
)

// benchStream reads in (b.N times, reusing the reader) through chunks of
// the given size (0: as one read).
func benchStream(b *testing.B, framing, file string, repeat, chunk int) {
	in := bytes.Repeat(readFixture(b, file), repeat)
	src := bytes.NewReader(in)
	var r io.Reader = src
	if chunk > 0 {
		r = &fixedChunks{r: src, n: chunk}
	}
	var fr interface {
		Reader
		Reset(io.Reader, int)
	}
	if framing == "sse" {
		fr = NewSSE(r, 0)
	} else {
		fr = NewNDJSON(r, 0)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		src.Reset(in)
		fr.Reset(r, 0)
		for {
			_, err := fr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

// fixedChunks delivers at most n bytes per Read, like a network.
type fixedChunks struct {
	r io.Reader
	n int
}

func (f *fixedChunks) Read(p []byte) (int, error) { return f.r.Read(p[:min(len(p), f.n)]) }

const openaiText = "openai/chat-completions.stream-text.response.sse"

// BenchmarkSSE_OpenAI: the OpenAI text stream (9 events, 2.8 KB), reader
// reused across streams.
func BenchmarkSSE_OpenAI(b *testing.B) { benchStream(b, "sse", openaiText, 1, 0) }

// BenchmarkSSE_OpenAI_Chunked: the same, arriving in 1 KB network reads.
func BenchmarkSSE_OpenAI_Chunked(b *testing.B) { benchStream(b, "sse", openaiText, 1, 1024) }

// BenchmarkSSE_OpenAI_Tiny: the same, arriving in 7-byte reads.
func BenchmarkSSE_OpenAI_Tiny(b *testing.B) { benchStream(b, "sse", openaiText, 1, 7) }

// BenchmarkSSE_OpenAI_Long: 1000 concatenated copies (9000 events).
func BenchmarkSSE_OpenAI_Long(b *testing.B) { benchStream(b, "sse", openaiText, 1000, 0) }

// BenchmarkSSE_Gemini_CRLF: CRLF line ends.
func BenchmarkSSE_Gemini_CRLF(b *testing.B) {
	benchStream(b, "sse", "gemini/streamGenerateContent-text.response.sse", 100, 0)
}

// BenchmarkSSE_Anthropic: named events.
func BenchmarkSSE_Anthropic(b *testing.B) {
	benchStream(b, "sse", "anthropic/messages-stream-text.response.sse", 100, 0)
}

func BenchmarkNDJSON_Ollama(b *testing.B) {
	benchStream(b, "ndjson", "ollama/chat-stream.response.ndjson", 100, 0)
}

// BenchmarkSSE_OpenAI_New: a new reader per stream, as the proxy does
// today; the allocations are the reader and its buffers.
func BenchmarkSSE_OpenAI_New(b *testing.B) {
	in := readFixture(b, openaiText)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		fr := NewSSE(bytes.NewReader(in), 0)
		for {
			if _, err := fr.Next(); err != nil {
				break
			}
		}
	}
}

func BenchmarkAppendSSE(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Bonjour"}}]}`)
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSSE(buf[:0], "", data)
	}
}
