// Command reloadplugin is the test plugin of host/app's hot-reload tests: an
// OpenAI pass-through provider that stamps its version into every response
// and stream chunk ("system_fingerprint": "reloadtest-VERSION"), so a test
// can tell which build served a call. Link-time variables make the builds
// the tests need:
//
//	-X main.version=2.0.0   the manifest version (and the stamp)
//	-X main.abiVersion=2    a manifest declaring another ABI version
//	-X main.mode=exit       hub_request exits the module (a crash)
//	-X main.mode=garbage    hub_request returns a request that is no request
package main

import (
	"os"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

var (
	version    = "1.0.0"
	abiVersion = "1"
	mode       = ""
)

type plugin struct{}

func init() { provider.Register(plugin{}) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}

func (plugin) Manifest() abi.Manifest {
	n, _ := strconv.Atoi(abiVersion)
	return abi.Manifest{ABI: n, Name: "reloadtest", Version: version, APIs: []string{abi.APIChatCompletions},
		Auth: abi.AuthBearer, StreamFraming: abi.FramingSSE}
}

func (plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	switch mode {
	case "exit":
		os.Exit(3)
	case "garbage":
		return &abi.RequestOut{Method: "GET /", Path: "no path"}, nil
	}
	body, err := sjson.SetBytes(in.Body, "model", in.Model)
	if err != nil {
		return nil, provider.Errorf(400, "invalid_request_error", "the request body is not a JSON object")
	}
	return &abi.RequestOut{Method: "POST", Path: "/chat/completions",
		Headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}, Body: body}, nil
}

func (plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status != 200 {
		return nil, &abi.Error{Status: int(in.Status), Type: "upstream_error", Message: "the upstream failed"}
	}
	body, err := sjson.SetBytes(in.Body, "system_fingerprint", "reloadtest-"+version)
	if err != nil {
		return nil, provider.Errorf(502, "upstream_error", "the upstream answer is not a JSON object")
	}
	return &abi.ResponseOut{Body: body, Usage: usage(in.Body)}, nil
}

func (plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	if string(ev.Data) == "[DONE]" {
		out.Flags |= abi.StreamDone
		return nil
	}
	chunk, err := sjson.SetBytes(ev.Data, "system_fingerprint", "reloadtest-"+version)
	if err != nil {
		return provider.Errorf(502, "upstream_error", "an upstream event is not a JSON object")
	}
	out.Chunks = append(out.Chunks, chunk)
	if u := usage(ev.Data); u != nil {
		out.Usage = u
	}
	return nil
}

func usage(body []byte) *abi.Usage {
	u := gjson.GetBytes(body, "usage")
	if !u.IsObject() {
		return nil
	}
	return &abi.Usage{InputTokens: u.Get("prompt_tokens").Int(), OutputTokens: u.Get("completion_tokens").Int()}
}
