package provider

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

type fake struct{ panicOn string }

func (f fake) Manifest() abi.Manifest { return abi.Manifest{Name: "fake", Version: "1"} }

func (f fake) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	switch f.panicOn {
	case "request":
		panic("boom")
	case "plain-error":
		return nil, errors.New("plain failure")
	}
	return &abi.RequestOut{Method: "POST", Path: "/x", Body: in.Body, State: []byte("s")}, nil
}

func (f fake) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	return nil, &abi.Error{Status: 429, Type: "rate_limit_error", Message: "slow", Retryable: true}
}

func (f fake) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	switch string(ev.Data) {
	case "err":
		return &abi.Error{Status: 502, Message: "upstream said no"}
	case "end":
		out.Flags = abi.StreamDone
		return nil
	}
	out.Chunks = append(out.Chunks, ev.Data)
	out.State = append(out.State, '+')
	return nil
}

func result(t *testing.T, res []byte) (byte, [][]byte) {
	t.Helper()
	st, rec, err := abi.SplitResult(res)
	if err != nil {
		t.Fatal(err)
	}
	f := make([][]byte, 5)
	if _, err := abi.Fields(rec, f); err != nil {
		t.Fatal(err)
	}
	return st, f
}

func decodeErr(t *testing.T, field []byte) abi.Error {
	t.Helper()
	var e abi.Error
	if err := json.Unmarshal(field, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDispatch(t *testing.T) {
	t.Run("describe fills ABI and kind", func(t *testing.T) {
		st, f := result(t, Invoke(fake{}, abi.ExportDescribe, nil))
		var m abi.Manifest
		if st != abi.StatusOK || json.Unmarshal(f[0], &m) != nil || m.ABI != abi.Version || m.Kind != abi.KindProvider || m.Name != "fake" {
			t.Fatalf("manifest %s", f[0])
		}
	})
	t.Run("request round trip", func(t *testing.T) {
		in := (&abi.RequestIn{API: abi.APIChatCompletions, Body: []byte("{}")}).Append(nil)
		st, rec, _ := abi.SplitResult(Invoke(fake{}, abi.ExportRequest, in))
		var out abi.RequestOut
		if st != abi.StatusOK || out.Parse(rec) != nil || out.Path != "/x" || string(out.Body) != "{}" || string(out.State) != "s" {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("abi.Error passes through", func(t *testing.T) {
		st, f := result(t, Invoke(fake{}, abi.ExportResponse, (&abi.ResponseIn{Status: 429}).Append(nil)))
		if e := decodeErr(t, f[0]); st != abi.StatusError || e.Status != 429 || !e.Retryable {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("plain error becomes a 502 plugin_error", func(t *testing.T) {
		st, f := result(t, Invoke(fake{panicOn: "plain-error"}, abi.ExportRequest, nil))
		if e := decodeErr(t, f[0]); st != abi.StatusError || e.Status != 502 || e.Type != "plugin_error" || e.Message != "plain failure" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("panic is recovered", func(t *testing.T) {
		st, f := result(t, Invoke(fake{panicOn: "request"}, abi.ExportRequest, nil))
		if e := decodeErr(t, f[0]); st != abi.StatusError || !strings.Contains(e.Message, "boom") {
			t.Fatalf("got %+v", e)
		}
	})
	stream := func(datas ...string) abi.StreamOut {
		in := abi.StreamIn{State: []byte("k")}
		for _, d := range datas {
			in.Events = append(in.Events, abi.Event{Data: []byte(d)})
		}
		st, rec, _ := abi.SplitResult(Invoke(fake{}, abi.ExportStreamEvent, in.Append(nil)))
		var out abi.StreamOut
		if st != abi.StatusOK || out.Parse(rec) != nil {
			t.Fatalf("status %d", st)
		}
		return out
	}
	t.Run("a batch of events threads the state", func(t *testing.T) {
		out := stream("a", "b", "c")
		if len(out.Chunks) != 3 || string(out.Chunks[2]) != "c" || string(out.State) != "k+++" || out.Error != nil {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("processing stops at the end of stream", func(t *testing.T) {
		out := stream("a", "end", "b")
		if len(out.Chunks) != 1 || out.Flags != abi.StreamDone {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("an error keeps the chunks before it", func(t *testing.T) {
		out := stream("a", "err", "b")
		if len(out.Chunks) != 1 || out.Error == nil || out.Error.Message != "upstream said no" {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("malformed input and unknown export", func(t *testing.T) {
		for _, exp := range []string{abi.ExportRequest, abi.ExportResponse, abi.ExportStreamEvent, "nope"} {
			if st, _ := result(t, Invoke(fake{}, exp, []byte{9, 0, 0, 0})); st != abi.StatusError {
				t.Fatalf("%s: status %d", exp, st)
			}
		}
	})
	t.Run("no plugin registered", func(t *testing.T) {
		if st, _ := result(t, Invoke(nil, abi.ExportRequest, nil)); st != abi.StatusError {
			t.Fatal("want an error")
		}
	})
}
