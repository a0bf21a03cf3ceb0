package aigne

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/abi"
)

func TestBlocklet(t *testing.T) {
	b := Blocklet{AppURL: "https://hub.example.com", Version: "1.2.3"}
	var v struct {
		ComponentID          string `json:"componentId"`
		Prefix               string `json:"prefix"`
		AppURL               string `json:"appUrl"`
		ComponentMountPoints []struct {
			DID, MountPoint, Name string
		} `json:"componentMountPoints"`
	}
	if err := json.Unmarshal(b.JSON(), &v); err != nil {
		t.Fatal(err)
	}
	// getAIGNEHubMountPoint (@aigne/aigne-hub utils/blocklet.js, lines
	// 3–12) finds the mount point whose did is AIGNE_HUB_BLOCKLET_DID
	// (utils/constants.js line 2) and joins it to the origin.
	if len(v.ComponentMountPoints) != 1 || v.ComponentMountPoints[0].DID != "z8ia3xzq2tMq8CRHfaXj1BTYJyYnEcHbqP8cJ" ||
		v.ComponentMountPoints[0].MountPoint != "/" || v.ComponentMountPoints[0].Name != "ai-kit" {
		t.Fatalf("mount points %+v", v.ComponentMountPoints)
	}
	// @blocklet/aigne-hub's getRemoteBaseUrl checks componentId and prefix
	// first.
	if v.ComponentID != HubDID || v.Prefix != "/" || v.AppURL != "https://hub.example.com" {
		t.Fatalf("got %+v", v)
	}
	if s := string(b.Script()); !strings.HasPrefix(s, "window.blocklet = {") || !strings.HasSuffix(s, "};\n") {
		t.Fatalf("script %q", s)
	}
	if !strings.Contains(string(Blocklet{}.JSON()), `"version":"0.0.0"`) {
		t.Fatal("no default version")
	}
}

func TestModelList(t *testing.T) {
	list := ModelList([]Model{
		{Provider: "openai", Model: "gpt-4o-mini", Type: TypeChat, InputPerM: 150_000, OutputPerM: 600_000, Available: true},
		{Provider: "openai", Model: "dall-e-3", Type: TypeImage, PerImage: 40_000},
	})
	// The client parses the list with modelsSchema (@aigne/aigne-hub
	// utils/hub.js, lines 6–19): model, type, provider and the two credit
	// rates are strings, providerDisplayName a string, modelMetadata a
	// record or null, status {available: boolean} or null. A number where
	// a string is expected fails the client's zod parse.
	var entries []map[string]any
	if err := json.Unmarshal(list, &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %s", list)
	}
	for _, e := range entries {
		for _, k := range []string{"model", "type", "provider", "input_credits_per_token", "output_credits_per_token", "providerDisplayName", "key"} {
			if _, ok := e[k].(string); !ok {
				t.Fatalf("%s is not a string in %v", k, e)
			}
		}
		if md, ok := e["modelMetadata"]; !ok || md != nil {
			t.Fatalf("modelMetadata %v", md)
		}
		st, ok := e["status"].(map[string]any)
		if _, isBool := st["available"].(bool); !ok || !isBool {
			t.Fatalf("status %v", e["status"])
		}
	}
	want := `[{"key":"openai/gpt-4o-mini","model":"gpt-4o-mini","type":"chat","provider":"openai","input_credits_per_token":"0.00000015","output_credits_per_token":"0.0000006","modelMetadata":null,"status":{"available":true},"providerDisplayName":"openai"},` +
		`{"key":"openai/dall-e-3","model":"dall-e-3","type":"image_generation","provider":"openai","input_credits_per_token":"0","output_credits_per_token":"0.04","modelMetadata":null,"status":{"available":false},"providerDisplayName":"openai"}]`
	if string(list) != want {
		t.Fatalf("got\n%s\nwant\n%s", list, want)
	}
	if string(ModelList(nil)) != "[]" {
		t.Fatalf("empty list %s", ModelList(nil))
	}
}

func TestModelTypeAndFilter(t *testing.T) {
	all := []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIImages, abi.APIModels}
	for _, tt := range []struct {
		model    string
		apis     []string
		perImage bool
		want     string
	}{
		{"gpt-4o-mini", all, false, TypeChat},
		{"text-embedding-3-small", all, false, TypeEmbedding},
		{"dall-e-3", all, false, TypeImage},
		{"gpt-image-1", all, false, TypeImage},
		{"imagen-4.0-generate-001", all, false, TypeImage},
		{"sora-2", all, false, TypeVideo},
		{"my-painter", all, true, TypeImage},
		{"anything", []string{abi.APIImages}, false, TypeImage},
		{"anything", []string{abi.APIEmbeddings, abi.APIModels}, false, TypeEmbedding},
		{"nomic-embed-text", []string{abi.APIChatCompletions}, false, TypeChat},
		{"meta/llama-embed", all, false, TypeEmbedding},
	} {
		if got := ModelType(tt.model, tt.apis, tt.perImage); got != tt.want {
			t.Errorf("ModelType(%q, %v, %v) = %q, want %q", tt.model, tt.apis, tt.perImage, got, tt.want)
		}
	}
	// typeFilterMap (libs/status.ts).
	for q, want := range map[string]string{"": "", "chat": TypeChat, "chatCompletion": TypeChat, "image": TypeImage,
		"imageGeneration": TypeImage, "image_generation": TypeImage, "embedding": TypeEmbedding, "video": TypeVideo} {
		if got := FilterType(q); got != want {
			t.Errorf("FilterType(%q) = %q, want %q", q, got, want)
		}
	}
	if f := FilterType("audio"); f == "" || f == TypeChat || f == TypeImage || f == TypeEmbedding || f == TypeVideo {
		t.Errorf("an unknown filter matches %q", f)
	}
}

func TestStatus(t *testing.T) {
	if got := string(Status(true, "")); got != `{"available":true}` {
		t.Fatal(got)
	}
	if got := string(Status(false, "Model rate not available")); got != `{"available":false,"error":"Model rate not available"}` {
		t.Fatal(got)
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		e    *apierr.Error
		body string
	}{
		// BaseClient.fetch reads error.message and error.type
		// (base-client.js, lines 93–113).
		{"bad key", apierr.Unauthorized("Incorrect API key provided."),
			`{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}`},
		// CreditErrorType.NOT_ENOUGH (@blocklet/aigne-hub api/error.ts).
		{"out of credits", &apierr.Error{Status: 402, Type: "insufficient_quota", Code: "insufficient_quota", Message: "Not enough credits."},
			`{"error":{"message":"Not enough credits.","type":"NOT_ENOUGH","code":"insufficient_quota"}}`},
		{"no type", &apierr.Error{Status: 500, Message: "x"}, `{"error":{"message":"x"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendErrorBody(nil, tt.e)); got != tt.body {
				t.Fatalf("got %s", got)
			}
			w := httptest.NewRecorder()
			WriteError(w, tt.e)
			if w.Code != tt.e.Status || w.Body.String() != tt.body+"\n" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("got %d %q %v", w.Code, w.Body, w.Header())
			}
		})
	}
	w := httptest.NewRecorder()
	WriteError(w, &apierr.Error{Status: 429, Type: apierr.TypeRateLimit, Message: "slow down", RetryAfter: 1500 * time.Millisecond})
	if w.Header().Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if got := string(AppendErrorEvent(nil, &apierr.Error{Status: 402, Message: "m"})); got != "event: error\ndata: {\"message\":\"m\",\"type\":\"NOT_ENOUGH\"}\n\n" {
		t.Fatalf("got %q", got)
	}
}
