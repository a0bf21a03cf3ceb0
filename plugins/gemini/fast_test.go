package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/aignehub/hub/sdk/provider"
)

// typicalEvent is the benchmark's mid-stream text delta.
func typicalEvent(tb testing.TB) []byte {
	return []byte(strings.TrimPrefix(strings.Split(fixture(tb, "streamGenerateContent-text.response.sse"), "\r\n")[2], "data: "))
}

// BenchmarkNativeStreamEvent: BenchmarkWasmStreamEvent's event through the
// plugin natively, with the dispatcher's reused StreamOut.
func BenchmarkNativeStreamEvent(b *testing.B) {
	p := newTestPlugin()
	out, err := p.Request(chatIn(simpleChat, "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, ""))
	if err != nil {
		b.Fatal(err)
	}
	st := append([]byte(nil), out.State...)
	st[1] |= fStarted
	ev := abi.Event{Data: typicalEvent(b)}
	var so abi.StreamOut
	b.ReportAllocs()
	for b.Loop() {
		so = abi.StreamOut{State: st, Chunks: so.Chunks[:0]}
		if err := p.StreamEvent(ev, &so); err != nil || len(so.Chunks) != 1 {
			b.Fatal(err, len(so.Chunks))
		}
	}
}

// The fast paths (fast.go, scan.go) must read every event they accept
// exactly as readEvent does, and the chunks must not depend on which
// reader ran.

// Which reader an event must reach: the first one that accepts it.
const (
	byLayout  = "layout"  // scanLayout
	byGeneral = "general" // scanGeneral, after scanLayout declined
	byGJSON   = "gjson"   // readEvent, after both declined
)

// fastCases are events and the reader that must take them.
var fastCases = []struct{ reader, data string }{
	// The common layout, in both styles.
	{byLayout, `{"candidates": [{"content": {"parts": [{"text": "Tokyo is"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 43,"candidatesTokenCount": 2,"totalTokenCount": 86,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 43}],"thoughtsTokenCount": 41},"modelVersion": "gemini-2.5-flash","responseId": "ziHHyYJrFdo-mqMO6XysKRz"}`},
	{byLayout, `{"candidates":[{"content":{"parts":[{"text":"Tokyo is"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":43,"candidatesTokenCount":2,"totalTokenCount":86,"promptTokensDetails":[{"modality":"TEXT","tokenCount":43}],"thoughtsTokenCount":41},"modelVersion":"gemini-2.5-flash","responseId":"ziHHyYJrFdo-mqMO6XysKRz"}`},
	{byLayout, `{"candidates": [{"content": {"parts": [{"text": "a"},{"text": "b","thought": true},{"text": ""}],"role": "model"},"finishReason": "MAX_TOKENS","index": 0}],"usageMetadata": {},"modelVersion": "m","responseId": "r"}`},
	{byLayout, `{"candidates": [{"content": {"parts": [{"text": "\u00e9\n\"q\" \\ \/ é 😀 \ud83d\ude00 \u2028 0123456789abcdefghij"}]}}]}`},
	{byLayout, `{"candidates": [{"content": {"parts": [{"text": ""}]},"finishReason": "STOP"}],"responseId": "r","modelVersion": "m","usageMetadata": {"promptTokenCount": 1,"promptTokenCount": 7,"cachedContentTokenCount": 5,"toolUsePromptTokenCount": 3,"candidatesTokenCount": 0,"cacheTokensDetails": [],"candidatesTokensDetails": [{"modality": "TEXT","tokenCount": 9},{"modality": "IMAGE","tokenCount": 0}],"toolUsePromptTokensDetails": [{"modality": "TEXT","tokenCount": 3}]}}`},
	{byLayout, `{"candidates": [{"content": {"parts": [{"text": "x"}],"role": "model"},"finishReason": "SAFETY","index": 3}],"usageMetadata": {"promptTokenCount": 999999999999999}}`},
	// Other layouts.
	{byGeneral, `{"usageMetadata": {"promptTokenCount": 4},"candidates": [{"content": {"parts": [{"text": "x"}]}}]}`},
	{byGeneral, "{\n  \"candidates\" : [ {\n    \"content\" : { \"role\" : \"model\" , \"parts\" : [ { \"thought\" : true , \"text\" : \"t\" } ] } ,\n    \"finishReason\" : \"STOP\"\n  } ] ,\r\n\t\"modelVersion\" : \"m\"\n}"},
	{byGeneral, `{"candidates": [{"content": {"parts": [{"text": "x"}],"role": "model"},"safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH","probability": "NEGLIGIBLE","blocked": false}],"citationMetadata": {"citationSources": [{"startIndex": 1,"uri": "https://x"}]},"avgLogprobs": -0.125e-3,"index": 0}],"usageMetadata": {"promptTokenCount": 2,"trafficType": "ON_DEMAND"},"createTime": "2025-01-01T00:00:00Z","extra": {"x\u0041": [null, true, false, 0, -1.5E+2, "\"", {}, []]}}`},
	{byGeneral, `{"candidates": [{"content": {"parts": [{"text": "","thoughtSignature": "c2ln"}],"role": "model"}}]}`},
	{byGeneral, `{"candidates": [{"content": {"parts": [{"text": "x","thought": false}]}}]}`},
	{byGeneral, `{"candidates": [{"content": {"parts": [],"role": "model"},"finishReason": "STOP"}]}`},
	{byGeneral, `{"candidates": [{"content": {}}],"usageMetadata": {"promptTokenCount": 0}}`},
	{byGeneral, `{"candidates": []}`},
	{byGeneral, `{}`},
	{byGeneral, `{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png","data": "AAAA"}},{"text": "y"}]}}]}`},
	{byGeneral, `{"candidates": [{"content": {"parts": [{"text": "x"}]},"finishReason": ""}],"deep": [[[[[[[[[[{"a": [[[[1]]]]}]]]]]]]]]]}`},
	// What only gjson reads (or reads as an error).
	{byGJSON, `{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f","args": {"a": 1}},"thoughtSignature": "s"}]}}]}`},
	{byGJSON, `{"error": {"code": 503,"message": "overloaded","status": "UNAVAILABLE"}}`},
	{byGJSON, `{"promptFeedback": {"blockReason": "SAFETY"},"usageMetadata": {"promptTokenCount": 9}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}},{"content": {"parts": [{"text": "b"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": 1},"usageMetadata": {"promptTokenCount": 2}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a","text": "b"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}],"parts": [{"text": "b"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]},"content": {"parts": [{"text": "b"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]},"finishReason": "STOP","finishReason": "SAFETY"}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]},"finishReason": "","finishReason": "SAFETY"}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"modelVersion": "a","modelVersion": "b"}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"te\u0078t": "a"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"modelVersion": "gemini\u002d2"}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]},"finishReason": "ST\u004fP"}]}`},
	{byGJSON, "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\x01b\"}]}}]}"},
	{byGJSON, "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\xffb\"}]}}]}"},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a\qb"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a\u12"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": 5}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a","thought": "yes"}]}}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": 43.0}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": 4e1}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": -4}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": 1234567890123456}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": {"promptTokenCount": "43"}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"usageMetadata": null}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]},"finishReason": 1}]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}]} x`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}]`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": tru}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": 01}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": [1,]}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": {"a" 1}}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": "\x"}`},
	{byGJSON, `{"candidates": [{"content": {"parts": [{"text": "a"}]}}],"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`},
	{byGJSON, `{"candidates": {"0": {"content": {"parts": [{"text": "a"}]}}}}`},
	{byGJSON, `[{"candidates": []}]`},
	{byGJSON, `"x"`},
	{byGJSON, `nope`},
}

// fastCorpus is fastCases' events and every event of the stream fixtures.
func fastCorpus(tb testing.TB) []string {
	var evs []string
	for _, c := range fastCases {
		evs = append(evs, c.data)
	}
	for _, name := range []string{"streamGenerateContent-text.response.sse", "streamGenerateContent-function-call.response.sse"} {
		for _, ev := range strings.Split(fixture(tb, name), "\r\n\r\n") {
			if ev = strings.TrimPrefix(ev, "data: "); ev != "" {
				evs = append(evs, ev)
				var c bytes.Buffer
				if json.Compact(&c, []byte(ev)) == nil {
					evs = append(evs, c.String())
				}
			}
		}
	}
	return evs
}

// describe renders what a reader made of an event.
func describe(e *event, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "id=%q model=%q finish=%q usage=%v/%+v error=%q", e.id, e.model, e.finish, e.hasUsage, e.usage, e.errObj.Raw)
	for i := 0; i < e.n; i++ {
		p := e.part(i)
		fmt.Fprintf(&b, "\n  part %d %s name=%q args=%q sig=%q", p.kind, p.lit, p.name, p.args, p.sig)
	}
	return b.String()
}

// readers runs the three readers on data and fails unless every fast
// reader that accepts it reads it as readEvent does. It returns the reader
// that StreamEvent would use.
func readers(t *testing.T, data []byte) string {
	t.Helper()
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ""
	}
	var want event
	err := readEvent(data, &want)
	wantS := describe(&want, err)
	by := byGJSON
	var e event
	if scanGeneral(data, &e) {
		by = byGeneral
		if got := describe(&e, nil); got != wantS {
			t.Fatalf("scanGeneral read %q as\n%s\nreadEvent as\n%s", data, got, wantS)
		}
	}
	e = event{}
	if scanLayout(data, &e) {
		by = byLayout
		if got := describe(&e, nil); got != wantS {
			t.Fatalf("scanLayout read %q as\n%s\nreadEvent as\n%s", data, got, wantS)
		}
	}
	e = event{}
	if scanEvent(data, &e) != (by != byGJSON) {
		t.Fatalf("scanEvent disagrees with its readers on %q", data)
	}
	return by
}

func TestFastReaders(t *testing.T) {
	for _, c := range fastCases {
		if by := readers(t, []byte(c.data)); by != c.reader {
			t.Errorf("%s read %s, want %s", by, c.data, c.reader)
		}
	}
	// Every event of the fixtures but the function calls takes the
	// layout's path, in both styles.
	for _, ev := range fastCorpus(t)[len(fastCases):] {
		if by := readers(t, []byte(ev)); by != byLayout && !strings.Contains(ev, "functionCall") {
			t.Errorf("%s read %s", by, ev)
		}
	}
}

// streamRun converts batches of events as the SDK's dispatcher does: one
// StreamOut reused by every call (so the plugin's buffers are reused too),
// its chunks copied out after each call.
func streamRun(p *plugin, state []byte, batches [][]abi.Event) string {
	var b strings.Builder
	var so abi.StreamOut
	for _, batch := range batches {
		so = abi.StreamOut{State: state, Chunks: so.Chunks[:0]}
		var err error
		for _, ev := range batch {
			if err = p.StreamEvent(ev, &so); err != nil || so.Flags&abi.StreamDone != 0 {
				break
			}
		}
		for _, c := range so.Chunks {
			b.Write(c)
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "usage=%+v flags=%d err=%v state=%x\n", so.Usage, so.Flags, err, so.State)
		if so.Usage != nil {
			fmt.Fprintf(&b, "usage=%+v\n", *so.Usage)
		}
		if err != nil || so.Flags&abi.StreamDone != 0 {
			break
		}
		state = append([]byte(nil), so.State...)
	}
	return b.String()
}

// streamStates are a stream's states at its start, for every flag
// combination, and after the role chunk.
func streamStates(tb testing.TB, p *plugin) [][]byte {
	var sts [][]byte
	for _, flags := range []uint32{abi.FlagStream, abi.FlagStream | abi.FlagIncludeUsage} {
		out, err := p.Request(chatIn(simpleChat, "gemini-2.5-flash", flags, ""))
		if err != nil {
			tb.Fatal(err)
		}
		started := append([]byte(nil), out.State...)
		started[1] |= fStarted
		sts = append(sts, out.State, started)
	}
	return sts
}

// TestFastChunks: the chunks of every event of the corpus, alone, twice in
// one call, and in a stream of calls, do not depend on the reader.
func TestFastChunks(t *testing.T) {
	fast, general := newTestPlugin(), newTestPlugin()
	general.general = true
	// And an event larger than the scratch buffer the plugin keeps.
	evs := append(fastCorpus(t), `{"candidates": [{"content": {"parts": [{"text": "`+strings.Repeat("big ", oai.ScratchMax/3)+`"}]}}],"responseId": "big"}`)
	for _, st := range streamStates(t, fast) {
		var all []abi.Event
		for _, ev := range evs {
			e := abi.Event{Data: []byte(ev)}
			all = append(all, e)
			for _, batches := range [][][]abi.Event{{{e}}, {{e, e}}, {{e}, {e}}} {
				if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
					t.Fatalf("event %s:\n%s\ngeneral reader:\n%s", ev, got, want)
				}
			}
		}
		// The whole corpus as one stream, in calls of 1 to 4 events.
		var batches [][]abi.Event
		for i, k := 0, 1; i < len(all); i, k = i+k, k%4+1 {
			batches = append(batches, all[i:min(i+k, len(all))])
		}
		if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
			t.Fatalf("corpus stream:\n%s\ngeneral reader:\n%s", got, want)
		}
	}
}

// FuzzFastPath: on any event, the fast readers read what readEvent reads,
// and StreamEvent's result does not depend on the reader.
func FuzzFastPath(f *testing.F) {
	for _, ev := range fastCorpus(f) {
		f.Add([]byte(ev), uint8(0))
	}
	fast, general := newTestPlugin(), newTestPlugin()
	general.general = true
	states := streamStates(f, fast)
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		readers(t, data)
		st := states[int(sel)%len(states)]
		in := abi.StreamIn{State: st, Events: []abi.Event{{Data: data}, {Data: data}}}
		got := provider.Invoke(fast, abi.ExportStreamEvent, in.Append(nil))
		want := provider.Invoke(general, abi.ExportStreamEvent, in.Append(nil))
		if !bytes.Equal(got, want) {
			t.Fatalf("event %q:\n%q\ngeneral reader:\n%q", data, got, want)
		}
		batches := [][]abi.Event{{{Data: data}}, {{Data: data}}}
		if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
			t.Fatalf("event %q:\n%s\ngeneral reader:\n%s", data, got, want)
		}
	})
}

func TestKeyWords(t *testing.T) {
	for w, key := range map[uint64]string{wPromptTo: "promptTo", wCandidat: "candidat", wTotalTok: "totalTok",
		wThoughts: "thoughts", wCachedCo: "cachedCo", wCacheTok: "cacheTok", wToolUseP: "toolUseP"} {
		if got := oai.Word(unsafe.Pointer(unsafe.StringData(key)), 0); got != w {
			t.Errorf("%s: %#x, want %#x", key, got, w)
		}
	}
}

// TestFastConcurrent: natively, calls may run at once (they never do in a
// Wasm instance); each must still get its own buffers.
func TestFastConcurrent(t *testing.T) {
	fast, general := newTestPlugin(), newTestPlugin()
	general.general = true
	st := streamStates(t, fast)[3]
	evs := fastCorpus(t)
	want := make([][]byte, len(evs))
	for i, ev := range evs {
		in := abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(ev)}, {Data: []byte(ev)}}}
		want[i] = provider.Invoke(general, abi.ExportStreamEvent, in.Append(nil))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				i := (n*7 + g) % len(evs)
				in := abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(evs[i])}, {Data: []byte(evs[i])}}}
				if got := provider.Invoke(fast, abi.ExportStreamEvent, in.Append(nil)); !bytes.Equal(got, want[i]) {
					t.Errorf("event %s:\n%q\nwant %q", evs[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkWasmStreamEventReaders: a text delta taken by each reader in
// turn, through the real gemini.wasm (BenchmarkWasmStreamEvent's event is
// the "layout" one).
func BenchmarkWasmStreamEventReaders(b *testing.B) {
	tg := plugintest.Wasm(b, "gemini", testConfig)
	out, err := tg.Request(chatIn(simpleChat, "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, ""))
	if err != nil {
		b.Fatal(err)
	}
	st := append([]byte(nil), out.State...)
	st[1] |= fStarted
	typical := string(typicalEvent(b))
	for _, c := range []struct{ name, data string }{
		{byLayout, typical},
		// Another member order, and a member the layout does not know.
		{byGeneral, strings.Replace(typical, `"modelVersion"`, `"createTime": "2025-11-27T04:00:00.123456Z","modelVersion"`, 1)},
		// A repeated member.
		{byGJSON, strings.Replace(typical, `"modelVersion"`, `"responseId": "x","modelVersion"`, 1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var e event
			if c.name != byGJSON && !scanEvent([]byte(c.data), &e) || c.name == byLayout != scanLayout([]byte(c.data), &event{}) {
				b.Fatal("not the reader's event")
			}
			in := abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(c.data)}}}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := tg.StreamEvent(&in); err != nil || len(res.Chunks) != 1 {
					b.Fatal(err, len(res.Chunks))
				}
			}
		})
	}
}

// TestFastMutations: every event of the corpus with any one byte deleted,
// doubled or replaced by a byte that matters to JSON is read by the fast
// readers as readEvent reads it, or declined.
func TestFastMutations(t *testing.T) {
	for _, ev := range fastCorpus(t) {
		for i := 0; i < len(ev); i++ {
			mutations := []string{ev[:i] + ev[i+1:], ev[:i] + ev[i:i+1] + ev[i:]}
			const swaps = "\"\\,:{}[] \n0159-.etfnu\x00\x1f\x7f\xc3\xa9\xff"
			for j := 0; j < len(swaps); j++ {
				mutations = append(mutations, ev[:i]+swaps[j:j+1]+ev[i+1:])
			}
			for _, m := range mutations {
				readers(t, []byte(m))
			}
		}
	}
}
