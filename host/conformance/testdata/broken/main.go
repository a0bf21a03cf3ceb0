// Command broken is a provider plugin for the conformance kit's own tests:
// well-behaved with an empty config, and broken in one way per
// {"break": "..."} config, so that each check is seen to fail.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

type plugin struct{ mode string }

var (
	keep  [][]byte // "leak" and "bigmem" retain memory here
	calls int      // "nondeterministic" counts calls here
)

func init() {
	var c struct {
		Break string `json:"break"`
	}
	if err := json.Unmarshal(provider.Config(), &c); err != nil {
		panic(err)
	}
	if c.Break == "bigmem" {
		keep = append(keep, make([]byte, 24<<20))
	}
	provider.Register(&plugin{mode: c.Break})
}

func main() {}

func (p *plugin) Manifest() abi.Manifest {
	m := abi.Manifest{Name: "broken", Version: "0.0.1", APIs: []string{abi.APIChatCompletions}, Auth: abi.AuthBearer, StreamFraming: abi.FramingSSE}
	if p.mode == "manifest" {
		m.Version, m.Auth, m.APIs = "", "basic", []string{"chat"}
	}
	return m
}

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	out := &abi.RequestOut{Method: "POST", Path: "/chat/completions", Body: in.Body, State: []byte("s")}
	switch p.mode {
	case "wrong":
		out.Path = "/v2/chat"
	case "leak":
		keep = append(keep, make([]byte, 64<<10))
	case "nondeterministic":
		calls++
		out.State = fmt.Appendf(nil, "s%d", calls)
	case "fragile":
		if len(in.Body) > 256<<10 {
			os.Exit(3) // not a panic, which the SDK would turn into an error result
		}
	}
	return out, nil
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status >= 400 {
		return nil, &abi.Error{Status: int(in.Status), Message: "upstream error"}
	}
	return &abi.ResponseOut{Body: in.Body, Usage: &abi.Usage{InputTokens: 1, OutputTokens: 2}}, nil
}

func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	if string(ev.Data) == "[DONE]" {
		out.Flags |= abi.StreamDone
		return nil
	}
	if p.mode == "batch" && len(out.Chunks) > 0 {
		// Numbering chunks within one call makes the output depend on how
		// the host batched the events.
		out.Chunks = append(out.Chunks, fmt.Appendf(nil, `{"i":%d,"data":%s}`, len(out.Chunks), ev.Data))
		return nil
	}
	out.Chunks = append(out.Chunks, ev.Data)
	return nil
}
