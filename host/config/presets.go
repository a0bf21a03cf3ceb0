package config

// Preset is what a provider gets by naming a builtin provider preset as its
// plugin (plugin = "deepseek"): the module that serves it, the upstream's
// public base URL, and default options. Several presets share one module:
// the OpenAI-compatible upstreams are all served by the openai plugin, told
// apart by the "flavor" option, so the hub compiles and warms one module
// for all of them.
type Preset struct {
	// Plugin is the builtin plugin module (a name in BuiltinPlugins).
	Plugin string
	// BaseURL is the default base_url; "{region}" is replaced by the
	// provider's region (Bedrock).
	BaseURL string
	// Options are the provider's default options; the provider's own
	// options table overrides them key by key.
	Options map[string]any
}

// Presets are the builtin provider presets, by the name a provider's plugin
// key may give. A [plugins.NAME] table of the same name takes precedence.
var Presets = map[string]Preset{
	"openai":            {Plugin: "openai", BaseURL: "https://api.openai.com/v1"},
	"openai-compatible": {Plugin: "openai", Options: map[string]any{"flavor": "compatible"}},
	"deepseek":          {Plugin: "openai", BaseURL: "https://api.deepseek.com", Options: map[string]any{"flavor": "deepseek"}},
	"xai":               {Plugin: "openai", BaseURL: "https://api.x.ai/v1", Options: map[string]any{"flavor": "xai"}},
	"openrouter":        {Plugin: "openai", BaseURL: "https://openrouter.ai/api/v1", Options: map[string]any{"flavor": "openrouter"}},
	"doubao":            {Plugin: "openai", BaseURL: "https://ark.cn-beijing.volces.com/api/v3", Options: map[string]any{"flavor": "doubao"}},
	"poe":               {Plugin: "openai", BaseURL: "https://api.poe.com/v1", Options: map[string]any{"flavor": "poe"}},
	"anthropic":         {Plugin: "anthropic", BaseURL: "https://api.anthropic.com"},
	"google":            {Plugin: "gemini", BaseURL: "https://generativelanguage.googleapis.com"},
	"gemini":            {Plugin: "gemini", BaseURL: "https://generativelanguage.googleapis.com"},
	"bedrock":           {Plugin: "bedrock", BaseURL: "https://bedrock-runtime.{region}.amazonaws.com"},
	"ollama":            {Plugin: "ollama", BaseURL: "http://127.0.0.1:11434"},
	"ideogram":          {Plugin: "ideogram", BaseURL: "https://api.ideogram.ai"},
}
