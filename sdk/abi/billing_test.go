package abi

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"testing"
)

var testRate = Rate{Found: true, InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 1_250_000, CacheWritePerM: 3_125_000, PerImage: 40_000, MinPerCall: 1}

func TestBillingRoundTrip(t *testing.T) {
	t.Run("QuoteIn", func(t *testing.T) {
		for _, in := range []QuoteIn{
			{AccountID: 7, KeyID: 9, API: APIChatCompletions, Provider: "openai", Model: "gpt-4o", RequestedModel: "fast",
				EstInputTokens: 1200, MaxOutputTokens: 4096, Images: 0, UnixMS: 1764201600123, Rate: testRate, Balance: -5, ChargedToday: 250},
			{API: APIImages, Model: "m", Images: 2, Rate: Rate{}},
			{AccountID: math.MaxInt64, KeyID: math.MinInt64, Rate: Rate{Found: true}},
			{},
		} {
			var out QuoteIn
			if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
				t.Fatalf("got %+v, %v\nwant %+v", out, err, in)
			}
		}
	})
	t.Run("QuoteOut", func(t *testing.T) {
		for _, in := range []QuoteOut{
			{Allow: true, Hold: 12345},
			{Reason: "model openai/x has no rate", Code: CodeUnpricedModel},
			{Allow: true, Hold: math.MaxInt64},
		} {
			var out QuoteOut
			if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
				t.Fatalf("got %+v, %v\nwant %+v", out, err, in)
			}
		}
	})
	t.Run("SettleIn", func(t *testing.T) {
		for _, in := range []SettleIn{
			{AccountID: 7, KeyID: 9, API: APIChatCompletions, Provider: "anthropic", Model: "claude", RequestedModel: "smart", UnixMS: 1,
				Rate: testRate, ChargedToday: 3, Held: 4,
				Usage:     Usage{InputTokens: 27, OutputTokens: 5, CachedTokens: 3, CacheWriteTokens: 2, ReasoningTokens: 1, Images: 4},
				Estimated: true, Aborted: true},
			{Aborted: true},
			{Estimated: true, Usage: Usage{OutputTokens: -1}},
			{},
		} {
			var out SettleIn
			if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
				t.Fatalf("got %+v, %v\nwant %+v", out, err, in)
			}
		}
	})
	t.Run("SettleOut", func(t *testing.T) {
		for _, in := range []SettleOut{
			{Amount: 1500, Items: []LineItem{{"input", 1000, 1000}, {"output", 50, 500}, {"", 0, 0}, {"discount", 0, -1}}},
			{Amount: 7},
		} {
			var out SettleOut
			if err := out.Parse(in.Append(nil)); err != nil || out.Amount != in.Amount || len(out.Items) != len(in.Items) ||
				(len(in.Items) > 0 && !reflect.DeepEqual(in.Items, out.Items)) {
				t.Fatalf("got %+v, %v\nwant %+v", out, err, in)
			}
		}
	})
}

// TestBillingLayout pins the wire bytes of the records against the field
// tables of sdk/ABI.md, so that a change of order or encoding cannot pass
// as a round trip.
func TestBillingLayout(t *testing.T) {
	le := binary.LittleEndian
	i64 := func(v int64) []byte { return le.AppendUint64(le.AppendUint32(nil, 8), uint64(v)) }
	str := func(s string) []byte { return AppendStringField(nil, s) }
	u32 := func(v uint32) []byte { return le.AppendUint32(le.AppendUint32(nil, 4), v) }
	rate := le.AppendUint32(nil, 48)
	for _, v := range []int64{1, 2, 3, 4, 5, 6} {
		rate = le.AppendUint64(rate, uint64(v))
	}
	r := Rate{Found: true, InputPerM: 1, OutputPerM: 2, CachedReadPerM: 3, CacheWritePerM: 4, PerImage: 5, MinPerCall: 6}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	q := QuoteIn{AccountID: 1, KeyID: 2, API: "a", Provider: "p", Model: "m", RequestedModel: "r", EstInputTokens: 3, MaxOutputTokens: 4,
		Images: 5, UnixMS: 6, Rate: r, Balance: 7, ChargedToday: 8}
	if got, want := q.Append(nil), cat(i64(1), i64(2), str("a"), str("p"), str("m"), str("r"), i64(3), i64(4), i64(5), i64(6), rate, i64(7), i64(8)); !bytes.Equal(got, want) {
		t.Errorf("QuoteIn:\n got %x\nwant %x", got, want)
	}
	qo := QuoteOut{Allow: true, Reason: "why", Hold: 9, Code: "c"}
	if got, want := qo.Append(nil), cat(u32(1), str("why"), i64(9), str("c")); !bytes.Equal(got, want) {
		t.Errorf("QuoteOut:\n got %x\nwant %x", got, want)
	}
	s := SettleIn{AccountID: 1, KeyID: 2, API: "a", Provider: "p", Model: "m", RequestedModel: "r", UnixMS: 6, Rate: r, ChargedToday: 8, Held: 9,
		Usage: Usage{1, 2, 3, 4, 5, 6}, Aborted: true}
	usage := AppendUsageField(nil, &Usage{1, 2, 3, 4, 5, 6})
	if got, want := s.Append(nil), cat(i64(1), i64(2), str("a"), str("p"), str("m"), str("r"), i64(6), rate, i64(8), i64(9), usage, u32(2)); !bytes.Equal(got, want) {
		t.Errorf("SettleIn:\n got %x\nwant %x", got, want)
	}
	so := SettleOut{Amount: 10, Items: []LineItem{{"in", 3, 4}}}
	items := cat(str("in"), i64(3), i64(4))
	if got, want := so.Append(nil), cat(i64(10), AppendField(nil, items)); !bytes.Equal(got, want) {
		t.Errorf("SettleOut:\n got %x\nwant %x", got, want)
	}
	if got := AppendRateField(nil, Rate{InputPerM: 5}); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("a rate not found is an empty field, got %x", got)
	}
}

func TestBillingCompat(t *testing.T) {
	t.Run("an empty QuoteOut refuses", func(t *testing.T) {
		out := QuoteOut{Allow: true, Hold: 5}
		if err := out.Parse(nil); err != nil || out.Allow || out.Hold != 0 {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("extra trailing fields are ignored", func(t *testing.T) {
		rec := (&SettleIn{Model: "m", Aborted: true}).Append(nil)
		rec = AppendStringField(rec, "future")
		var out SettleIn
		if err := out.Parse(rec); err != nil || out.Model != "m" || !out.Aborted {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("a longer rate keeps its first six values", func(t *testing.T) {
		f := AppendRateField(nil, testRate)[4:]
		f = binary.LittleEndian.AppendUint64(f, 99)
		r, err := ParseRate(f)
		if err != nil || r != testRate {
			t.Fatalf("got %+v, %v", r, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		badI64 := AppendStringField(nil, "abc") // a 3-byte i64
		// Records whose rate field (7 in SettleIn, 10 in QuoteIn) is 40 bytes.
		var settleWithRate40, quoteWithRate40 []byte
		for range 7 {
			settleWithRate40 = AppendField(settleWithRate40, nil)
		}
		settleWithRate40 = AppendField(settleWithRate40, make([]byte, 40))
		for range 10 {
			quoteWithRate40 = AppendField(quoteWithRate40, nil)
		}
		quoteWithRate40 = AppendField(quoteWithRate40, make([]byte, 40))
		for name, tc := range map[string]struct {
			rec   []byte
			parse func([]byte) error
		}{
			"QuoteIn i64":       {badI64, func(b []byte) error { return new(QuoteIn).Parse(b) }},
			"QuoteOut flags":    {badI64, func(b []byte) error { return new(QuoteOut).Parse(b) }},
			"SettleIn i64":      {badI64, func(b []byte) error { return new(SettleIn).Parse(b) }},
			"SettleOut amount":  {badI64, func(b []byte) error { return new(SettleOut).Parse(b) }},
			"SettleIn rate":     {settleWithRate40, func(b []byte) error { return new(SettleIn).Parse(b) }},
			"QuoteIn rate":      {quoteWithRate40, func(b []byte) error { return new(QuoteIn).Parse(b) }},
			"overrun":           {[]byte{9, 0, 0, 0, 1}, func(b []byte) error { return new(QuoteIn).Parse(b) }},
			"item cut short":    {AppendField(AppendU64Field(nil, 1), AppendStringField(nil, "input")), func(b []byte) error { return new(SettleOut).Parse(b) }},
			"item with bad qty": {AppendField(AppendU64Field(nil, 1), cat3(AppendStringField(nil, "x"), AppendStringField(nil, "ab"), AppendU64Field(nil, 1))), func(b []byte) error { return new(SettleOut).Parse(b) }},
		} {
			if err := tc.parse(tc.rec); err != ErrMalformed {
				t.Errorf("%s: err = %v, want ErrMalformed", name, err)
			}
		}
	})
	t.Run("a failed parse leaves the record alone", func(t *testing.T) {
		q := QuoteIn{Model: "keep"}
		if err := q.Parse(AppendStringField(nil, "abc")); err == nil || q.Model != "keep" {
			t.Fatalf("got %+v, %v", q, err)
		}
	})
}

func cat3(a, b, c []byte) []byte { return append(append(append([]byte(nil), a...), b...), c...) }

func FuzzBillingParse(f *testing.F) {
	f.Add((&QuoteIn{AccountID: 1, Model: "m", Rate: testRate, EstInputTokens: 10}).Append(nil))
	f.Add((&QuoteOut{Allow: true, Hold: 3, Reason: "r", Code: "c"}).Append(nil))
	f.Add((&SettleIn{Rate: testRate, Usage: Usage{InputTokens: 1}, Aborted: true}).Append(nil))
	f.Add((&SettleOut{Amount: 3, Items: []LineItem{{"input", 1, 2}, {"output", 1, 1}}}).Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Whatever parses re-encodes to something that parses to the same
		// value: the codecs agree with each other on every input.
		var qi QuoteIn
		if qi.Parse(b) == nil {
			var again QuoteIn
			if err := again.Parse(qi.Append(nil)); err != nil || !reflect.DeepEqual(again, qi) {
				t.Fatalf("QuoteIn: %+v != %+v (%v)", again, qi, err)
			}
		}
		var qo QuoteOut
		if qo.Parse(b) == nil {
			var again QuoteOut
			if err := again.Parse(qo.Append(nil)); err != nil || again != qo {
				t.Fatalf("QuoteOut: %+v != %+v (%v)", again, qo, err)
			}
		}
		var si SettleIn
		if si.Parse(b) == nil {
			var again SettleIn
			if err := again.Parse(si.Append(nil)); err != nil || !reflect.DeepEqual(again, si) {
				t.Fatalf("SettleIn: %+v != %+v (%v)", again, si, err)
			}
		}
		var so SettleOut
		if so.Parse(b) == nil {
			var again SettleOut
			if err := again.Parse(so.Append(nil)); err != nil || again.Amount != so.Amount || len(again.Items) != len(so.Items) {
				t.Fatalf("SettleOut: %+v != %+v (%v)", again, so, err)
			}
			for i := range so.Items {
				if again.Items[i] != so.Items[i] {
					t.Fatalf("SettleOut item %d: %+v != %+v", i, again.Items[i], so.Items[i])
				}
			}
		}
	})
}

// TestSettleOutParseNames: the common line item names decode without
// allocating, and every name, common or not, decodes to itself.
func TestSettleOutParseNames(t *testing.T) {
	out := SettleOut{Amount: 10, Items: []LineItem{{"input", 1, 2}, {"cached_input", 1, 2}, {"cache_write", 1, 2},
		{"output", 1, 2}, {"images", 1, 1}, {"minimum", 0, 1}, {"night discount", 0, -1}, {"inpu", 1, 1}, {"", 0, 0}}}
	rec := out.Append(nil)
	var got SettleOut
	if err := got.Parse(rec); err != nil || !reflect.DeepEqual(got, out) {
		t.Fatalf("Parse = %+v, %v; want %+v", got, err, out)
	}
	common := SettleOut{Amount: 5, Items: out.Items[:6]}
	rec = common.Append(nil)
	if n := testing.AllocsPerRun(100, func() { got.Parse(rec) }); n != 0 {
		t.Errorf("Parse of common names allocates %v times", n)
	}
}
