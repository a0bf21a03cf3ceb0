package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

type plugin struct{}

// newPlugin makes the plugin. It takes no config: what varies per provider
// (guardrail, performance and model-specific fields) comes in the
// provider's options with each request.
func newPlugin(_ []byte) *plugin { return &plugin{} }

func (p *plugin) Manifest() abi.Manifest {
	return abi.Manifest{
		Name:          "bedrock",
		Version:       Version,
		Description:   "Amazon Bedrock Converse API (chat completions, streamed and not) for every Bedrock model that supports messages",
		APIs:          []string{abi.APIChatCompletions},
		Auth:          abi.AuthSigV4Prefix + "bedrock",
		StreamFraming: abi.FramingAWSEventStream,
		ConfigSchema:  map[string]any{"type": "object", "properties": map[string]any{}},
	}
}

// Request headers.
var (
	jsonHeaders   = []abi.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Accept", Value: "application/json"}}
	streamHeaders = []abi.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Accept", Value: "application/vnd.amazon.eventstream"}}
)

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	if in.API != abi.APIChatCompletions {
		return nil, oai.Unsupported("bedrock", in.API)
	}
	body, model, err := translate(in)
	if err != nil {
		return nil, err
	}
	st := state{created: in.UnixMS / 1000, id: "chatcmpl-" + in.RequestID, model: model}
	out := &abi.RequestOut{Method: "POST", Body: body}
	if in.Flags&abi.FlagStream != 0 {
		if in.Flags&abi.FlagIncludeUsage != 0 {
			st.flags |= flagWantUsage
		}
		out.Path = "/model/" + escapeSegment(model) + "/converse-stream"
		out.Headers = streamHeaders
	} else {
		out.Path = "/model/" + escapeSegment(model) + "/converse"
		out.Headers = jsonHeaders
	}
	out.State = st.encode()
	return out, nil
}
