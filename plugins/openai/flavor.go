package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/tidwall/gjson"
)

// A flavor is one OpenAI-compatible upstream's set of quirks. One module
// serves them all; the provider's options pick the flavor per request
// ({"flavor":"deepseek"}, set by the hub's builtin presets), so the hub
// compiles and warms this module once for every OpenAI-compatible provider.
type flavor byte

const (
	flavorOpenAI     flavor = iota // api.openai.com
	flavorCompatible               // any other OpenAI-compatible server
	flavorDeepSeek
	flavorXAI
	flavorOpenRouter
	flavorDoubao
	flavorPoe
)

var flavors = map[string]flavor{
	"openai": flavorOpenAI, "compatible": flavorCompatible, "deepseek": flavorDeepSeek, "xai": flavorXAI,
	"openrouter": flavorOpenRouter, "doubao": flavorDoubao, "poe": flavorPoe,
}

// apis lists what each flavor's upstream serves beyond chat completions.
var apis = map[flavor][]string{
	flavorOpenAI:     {abi.APIEmbeddings, abi.APIImages, abi.APIModels},
	flavorCompatible: {abi.APIEmbeddings, abi.APIImages, abi.APIModels},
	flavorDeepSeek:   {abi.APIModels},
	flavorXAI:        {abi.APIImages, abi.APIModels},
	flavorOpenRouter: {abi.APIModels},
	flavorDoubao:     {abi.APIEmbeddings, abi.APIImages},
	flavorPoe:        {abi.APIModels},
}

func (f flavor) serves(api string) bool {
	if api == abi.APIChatCompletions {
		return true
	}
	for _, a := range apis[f] {
		if a == api {
			return true
		}
	}
	return false
}

func (f flavor) String() string {
	for k, v := range flavors {
		if v == f {
			return k
		}
	}
	return "unknown"
}

// options are the per-provider options the plugin reads from each request:
//
//	flavor         "openai" (default), "compatible", "deepseek", "xai",
//	               "openrouter", "doubao", "poe"
//	headers        extra upstream headers, {"Name": "value"}
//	stream_usage   false stops the plugin from forcing
//	               stream_options.include_usage (for servers that reject it;
//	               such streams are metered by estimate)
//	referer, title OpenRouter attribution (HTTP-Referer, X-Title)
//	provider       OpenRouter provider routing object, sent as "provider"
//	               unless the client sent one
//	watermark      Doubao image generation watermark (default false)
type options struct {
	flavor      flavor
	headers     []abi.Header
	noUsage     bool
	orProvider  string // raw JSON
	watermarkOn bool
}

// parseOptions reads the provider options JSON; unknown keys are ignored.
func parseOptions(raw []byte, provider string) (options, *abi.Error) {
	var o options
	if f, ok := flavors[provider]; ok && len(raw) == 0 {
		o.flavor = f // an ABI 1.0 host sends no options: go by the provider's name
	}
	if len(raw) == 0 {
		return o, nil
	}
	root := gjson.ParseBytes(raw)
	if !root.IsObject() {
		return o, &abi.Error{Status: 500, Type: "plugin_config_error", Message: "the provider options are not a JSON object"}
	}
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "flavor":
			o.flavor = flavor(255)
			if f, ok := flavors[v.String()]; ok {
				o.flavor = f
			}
		case "headers":
			v.ForEach(func(k, v gjson.Result) bool {
				o.headers = append(o.headers, abi.Header{Name: k.String(), Value: v.String()})
				return true
			})
		case "stream_usage":
			o.noUsage = v.Type == gjson.False
		case "referer":
			o.headers = append(o.headers, abi.Header{Name: "HTTP-Referer", Value: v.String()})
		case "title":
			o.headers = append(o.headers, abi.Header{Name: "X-Title", Value: v.String()})
		case "provider":
			if v.IsObject() {
				o.orProvider = v.Raw
			}
		case "watermark":
			o.watermarkOn = v.Type == gjson.True
		}
		return true
	})
	if o.flavor == flavor(255) {
		return o, &abi.Error{Status: 500, Type: "plugin_config_error",
			Message: "unknown flavor " + root.Get("flavor").Raw + " in the provider options (want openai, compatible, deepseek, xai, openrouter, doubao or poe)"}
	}
	return o, nil
}
