package aigne

import (
	"strings"

	"github.com/aignehub/hub/sdk/abi"
)

// HubDID is AIGNE Hub's blocklet component DID. The client finds the hub
// by it among the component mount points of GET /__blocklet__.js?type=json
// (@aigne/aigne-hub utils/constants.js AIGNE_HUB_BLOCKLET_DID, read by
// utils/blocklet.js getAIGNEHubMountPoint); @blocklet/aigne-hub's
// getRemoteBaseUrl also accepts it as the page's own componentId.
const HubDID = "z8ia3xzq2tMq8CRHfaXj1BTYJyYnEcHbqP8cJ"

// Blocklet describes the hub for GET /__blocklet__.js.
type Blocklet struct {
	// AppURL is the hub's origin as the client reached it, e.g.
	// "https://hub.example.com".
	AppURL string
	// Version is the hub's version; empty means "0.0.0".
	Version string
}

type mountPoint struct {
	Title      string `json:"title"`
	Name       string `json:"name"`
	DID        string `json:"did"`
	Version    string `json:"version"`
	Status     string `json:"status"`
	MountPoint string `json:"mountPoint"`
}

// JSON is the ?type=json body: the blocklet metadata Blocklet Server
// serves, with the hub as the app itself (componentId = HubDID, prefix
// "/") and as its one component, mounted at "/". getAIGNEHubMountPoint
// reads componentMountPoints[].did and .mountPoint, and joins the mount
// point to the origin of the URL it was given: the hub's APIs are then
// found at the origin's /api/v2/…
func (b Blocklet) JSON() []byte {
	v := b.Version
	if v == "" {
		v = "0.0.0"
	}
	out, _ := marshal(struct {
		AppID                string       `json:"appId"`
		AppPID               string       `json:"appPid"`
		AppName              string       `json:"appName"`
		AppDescription       string       `json:"appDescription"`
		AppURL               string       `json:"appUrl"`
		Prefix               string       `json:"prefix"`
		GroupPrefix          string       `json:"groupPrefix"`
		ComponentID          string       `json:"componentId"`
		Version              string       `json:"version"`
		ComponentMountPoints []mountPoint `json:"componentMountPoints"`
	}{
		AppID: HubDID, AppPID: HubDID, AppName: "AIGNE Hub", AppDescription: "AI gateway", AppURL: b.AppURL,
		Prefix: "/", GroupPrefix: "/", ComponentID: HubDID, Version: v,
		ComponentMountPoints: []mountPoint{{Title: "AIGNE Hub", Name: "ai-kit", DID: HubDID, Version: v, Status: "running", MountPoint: "/"}},
	})
	return out
}

// Script is the body of GET /__blocklet__.js without ?type=json: the same
// object assigned to window.blocklet, as browser apps load it.
func (b Blocklet) Script() []byte {
	return append(append([]byte("window.blocklet = "), b.JSON()...), ";\n"...)
}

// Model types as AIGNE Hub names them in model lists (libs/status.ts
// getFormatModelType).
const (
	TypeChat      = "chat"
	TypeImage     = "image_generation"
	TypeEmbedding = "embedding"
	TypeVideo     = "video"
)

// FilterType maps the ?type= of GET /api/ai/models to a model type, as
// AIGNE Hub's typeFilterMap does (chat, chatCompletion; image,
// imageGeneration, image_generation; embedding; video). An unknown filter
// matches no model; "" matches all.
func FilterType(q string) string {
	switch q {
	case "chat", "chatCompletion":
		return TypeChat
	case "image", "imageGeneration", "image_generation":
		return TypeImage
	case "embedding":
		return TypeEmbedding
	case "video":
		return TypeVideo
	case "":
		return ""
	}
	return "\x00none"
}

// ModelType guesses what a model does, as the hub's routing does not say:
// from the APIs its provider serves (abi.API… names) when only one of chat,
// embeddings and images is among them, else from a per-image price, else
// from its name (embedding models, image models such as dall-e, gpt-image
// and imagen, video models such as sora and veo); chat otherwise.
func ModelType(model string, apis []string, perImage bool) string {
	has := func(api string) bool {
		for _, a := range apis {
			if a == api {
				return true
			}
		}
		return false
	}
	chat, emb, img := has(abi.APIChatCompletions), has(abi.APIEmbeddings), has(abi.APIImages)
	switch {
	case img && !chat && !emb:
		return TypeImage
	case emb && !chat && !img:
		return TypeEmbedding
	case chat && !emb && !img:
		return TypeChat
	case perImage && img:
		return TypeImage
	}
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	switch {
	case strings.Contains(m, "embed"):
		return TypeEmbedding
	case strings.HasPrefix(m, "dall-e"), strings.Contains(m, "gpt-image"), strings.HasPrefix(m, "imagen"),
		strings.Contains(m, "image-gen"), strings.HasPrefix(m, "flux"), strings.Contains(m, "stable-diffusion"),
		strings.Contains(m, "seedream"), strings.HasPrefix(m, "ideogram"):
		return TypeImage
	case strings.HasPrefix(m, "sora"), strings.HasPrefix(m, "veo"):
		return TypeVideo
	}
	return TypeChat
}

// Model is one entry of the model list.
type Model struct {
	// Provider is the provider's name; Model the model id at that provider.
	Provider, Model string
	// Type is one of TypeChat, TypeImage, TypeEmbedding, TypeVideo.
	Type string
	// InputPerM and OutputPerM are the prices in micro-credits per million
	// tokens; PerImage per generated image (zero: free or unpriced).
	InputPerM, OutputPerM, PerImage int64
	// Available says the provider has a usable credential.
	Available bool
}

type modelEntry struct {
	Key                   string         `json:"key"`
	Model                 string         `json:"model"`
	Type                  string         `json:"type"`
	Provider              string         `json:"provider"`
	InputCreditsPerToken  string         `json:"input_credits_per_token"`
	OutputCreditsPerToken string         `json:"output_credits_per_token"`
	ModelMetadata         map[string]any `json:"modelMetadata"`
	Status                struct {
		Available bool `json:"available"`
	} `json:"status"`
	ProviderDisplayName string `json:"providerDisplayName"`
}

// ModelList is the body of GET /api/ai/models: a JSON array in the shape
// the client validates (@aigne/aigne-hub utils/hub.js, modelsSchema, lines
// 6–19): model, type, provider, input_credits_per_token and
// output_credits_per_token as decimal strings (credits per token; for an
// image model the output price is per image), modelMetadata (null),
// providerDisplayName, and status {available}; plus AIGNE Hub's "key"
// ("provider/model").
func ModelList(models []Model) []byte {
	out := make([]modelEntry, 0, len(models))
	for _, m := range models {
		e := modelEntry{Key: m.Provider + "/" + m.Model, Model: m.Model, Type: m.Type, Provider: m.Provider,
			InputCreditsPerToken: Decimal(m.InputPerM, 12), OutputCreditsPerToken: Decimal(m.OutputPerM, 12),
			ProviderDisplayName: m.Provider}
		if m.Type == TypeImage && m.PerImage > 0 {
			e.OutputCreditsPerToken = Decimal(m.PerImage, 6)
		}
		e.Status.Available = m.Available
		out = append(out, e)
	}
	b, _ := marshal(out)
	return b
}

// Status is the body of GET /api/v2/status: {"available":true}, or
// {"available":false,"error":"…"} (routes/v2.ts, the /status route).
func Status(available bool, reason string) []byte {
	out, _ := marshal(struct {
		Available bool   `json:"available"`
		Error     string `json:"error,omitempty"`
	}{available, reason})
	return out
}
