package oai

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/tidwall/gjson"
)

// ParseUsage reads OpenAI's usage object in one pass over its members:
// prompt and completion tokens, cached (and cache-write) prompt tokens, and
// reasoning tokens. DeepSeek's prompt_cache_hit_tokens count as cached
// tokens when the details object does not say.
func ParseUsage(u gjson.Result) *abi.Usage {
	var out abi.Usage
	var hit int64
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			out.InputTokens = v.Int()
		case "completion_tokens":
			out.OutputTokens = v.Int()
		case "prompt_cache_hit_tokens":
			hit = v.Int()
		case "prompt_tokens_details":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "cached_tokens":
					out.CachedTokens = v.Int()
				case "cache_write_tokens":
					out.CacheWriteTokens = v.Int()
				}
				return true
			})
		case "completion_tokens_details":
			out.ReasoningTokens = v.Get("reasoning_tokens").Int()
		}
		return true
	})
	if out.CachedTokens == 0 {
		out.CachedTokens = hit
	}
	return &out
}
