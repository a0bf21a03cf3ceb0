package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

const (
	testModel = "anthropic.claude-3-7-sonnet-20250219-v1:0"
	testMS    = 1730800215123 // 2024-11-05T09:50:15.123Z: created 1730800215
)

func both(t *testing.T, fn func(t *testing.T, tg plugintest.Target)) {
	plugintest.Both(t, newPlugin(nil), "bedrock", nil, fn)
}

func TestManifest(t *testing.T) {
	both(t, func(t *testing.T, tg plugintest.Target) {
		m := tg.Manifest()
		if m.Name != "bedrock" || m.Auth != "sigv4:bedrock" || m.StreamFraming != abi.FramingAWSEventStream ||
			len(m.APIs) != 1 || m.APIs[0] != abi.APIChatCompletions || m.Kind != abi.KindProvider || m.ABI != abi.Version {
			t.Fatalf("manifest = %+v", m)
		}
	})
}

// TestRequestGolden: canonical requests → Converse requests, compared with
// golden files written by hand from the Converse API reference and
// MAPPING.md §1–5.
func TestRequestGolden(t *testing.T) {
	edgeOptions := `{"guardrail_config":{"guardrailIdentifier":"gr-abc123","guardrailVersion":"1","trace":"enabled"},
		"additional_model_request_fields":{"anthropic_beta":["token-efficient-tools-2025-02-19"]},"unrelated":1}`
	cases := []struct {
		in, want string
		model    string
		flags    uint32
		options  string
		path     string
	}{
		{"openai-text.request.json", "converse-text.request.json", testModel, 0, "",
			"/model/anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"},
		{"openai-tool-result.request.json", "converse-tool-result.request.json", "us.meta.llama3-3-70b-instruct-v1:0", 0, "{}",
			"/model/us.meta.llama3-3-70b-instruct-v1%3A0/converse"},
		{"openai-stream-tools.request.json", "converse-stream-tools.request.json", "amazon.nova-pro-v1:0", abi.FlagStream | abi.FlagIncludeUsage, "",
			"/model/amazon.nova-pro-v1%3A0/converse-stream"},
		{"openai-stream-text.request.json", "converse-stream-text.request.json",
			"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0", abi.FlagStream, "",
			"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"},
		{"openai-edge.request.json", "converse-edge.request.json", "anthropic.claude-3-5-haiku-20241022-v1:0", 0, edgeOptions,
			"/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"},
	}
	both(t, func(t *testing.T, tg plugintest.Target) {
		for _, tc := range cases {
			t.Run(tc.in, func(t *testing.T) {
				out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: tc.model, Flags: tc.flags, RequestID: "req_1",
					Body: plugintest.Fixture(t, tc.in), Provider: "bedrock", Options: []byte(tc.options), UnixMS: testMS})
				if err != nil {
					t.Fatal(err)
				}
				if out.Method != "POST" || out.Path != tc.path {
					t.Fatalf("%s %s, want POST %s", out.Method, out.Path, tc.path)
				}
				plugintest.JSONEqual(t, "body", out.Body, plugintest.Fixture(t, tc.want))
				hs := map[string]string{}
				for _, h := range out.Headers {
					hs[strings.ToLower(h.Name)] = h.Value
				}
				accept := "application/json"
				if tc.flags&abi.FlagStream != 0 {
					accept = "application/vnd.amazon.eventstream"
				}
				if hs["content-type"] != "application/json" || hs["accept"] != accept || len(hs) != 2 {
					t.Fatalf("headers = %v", out.Headers)
				}
				st := parseState(out.State)
				if st.id != "chatcmpl-req_1" || st.model != tc.model || st.created != 1730800215 ||
					(st.flags&flagWantUsage != 0) != (tc.flags&abi.FlagIncludeUsage != 0) {
					t.Fatalf("state = %+v", st)
				}
			})
		}
	})
}

func TestRequestErrors(t *testing.T) {
	const img = `data:image/png;base64,iVBORw0KGgo=`
	cases := []struct {
		name, body, param, msg string
	}{
		{"n > 1", `{"n":2,"messages":[{"role":"user","content":"hi"}]}`, "n", "n > 1"},
		{"https image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`,
			"messages[0].content[0].image_url", "base64 data URLs"},
		{"image type", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]}`,
			"messages[0].content[0].image_url", "image/bmp"},
		{"audio", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			"messages[0].content[0]", "input_audio"},
		{"file type", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/zip;base64,UEs=","filename":"a.zip"}}]}]}`,
			"messages[0].content[0].file", "application/zip"},
		{"file id", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}`,
			"messages[0].content[0].file", "data URL"},
		{"invalid tool arguments", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}`,
			"messages[1].tool_calls[0].function.arguments", "JSON object"},
		{"array tool arguments", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[0].tool_calls[0].function.arguments", "JSON object"},
		{"tool call without id", `{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
			"messages[0].tool_calls[0]", "id"},
		{"tool result without id", `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", "tool_call_id"},
		{"image in assistant", `{"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"` + img + `"}}]}]}`,
			"messages[0].content[0]", "only text"},
		{"unknown role", `{"messages":[{"role":"critic","content":"x"}]}`, "messages[0].role", "critic"},
		{"no messages", `{"model":"m"}`, "messages", "array"},
		{"not an object", `[1,2]`, "", "not a JSON object"},
		{"hosted tool", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}]}`, "tools", "web_search"},
		{"tool without name", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{}}]}`, "tools", "name"},
		{"schema not an object", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`,
			"response_format", "schema"},
		{"format type", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"grammar"}}`, "response_format", "grammar"},
	}
	both(t, func(t *testing.T, tg plugintest.Target) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Body: []byte(tc.body)})
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != 400 || ae.Type != "invalid_request_error" || ae.Param != tc.param || !strings.Contains(ae.Message, tc.msg) {
					t.Fatalf("got %+v", ae)
				}
			})
		}
		_, err := tg.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "m", Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Code != "unsupported_api" {
			t.Fatalf("embeddings: %+v", ae)
		}
	})
}

// TestRequestChoices covers mapping choices the golden files do not.
func TestRequestChoices(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"hi"}]`
	const tools = `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	cases := []struct {
		name, body, options string
		want                string // gjson paths and values, "path=raw JSON" separated by " && "
	}{
		{"tool_choice none drops the tools", `{` + user + `,` + tools + `,"tool_choice":"none"}`, "",
			`toolConfig=`},
		{"tool_choice required", `{` + user + `,` + tools + `,"tool_choice":"required"}`, "",
			`toolConfig.toolChoice={"any":{}}`},
		{"no tool_choice", `{` + user + `,` + tools + `}`, "",
			`toolConfig.toolChoice= && toolConfig.tools.0.toolSpec.inputSchema.json={"type":"object"}`},
		{"empty tools", `{` + user + `,"tools":[],"tool_choice":"auto"}`, "", `toolConfig=`},
		{"only system", `{"messages":[{"role":"system","content":"s"}]}`, "",
			`messages=[{"role":"user","content":[{"text":"."}]}] && system=[{"text":"s"}]`},
		{"no parameters at all", `{"messages":[]}`, "",
			`messages=[{"role":"user","content":[{"text":"."}]}] && inferenceConfig= && system=`},
		{"stop array and temperature", `{` + user + `,"stop":["a","","b"],"temperature":1.5,"max_completion_tokens":5,"max_tokens":9}`, "",
			`inferenceConfig={"maxTokens":5,"temperature":1.5,"stopSequences":["a","b"]}`},
		{"options top_k wins", `{` + user + `,"top_k":5}`, `{"additional_model_request_fields":{"top_k":7}}`,
			`additionalModelRequestFields={"top_k":7}`},
		{"empty additional fields", `{` + user + `}`, `{"additional_model_request_fields":{ }}`,
			`additionalModelRequestFields=`},
		{"performance config", `{` + user + `}`, `{"performance_config":{"latency":"optimized"}}`,
			`performanceConfig={"latency":"optimized"}`},
		{"json_object is dropped", `{` + user + `,"response_format":{"type":"json_object"}}`, "", `outputConfig=`},
		{"developer and system parts, cache point", `{"messages":[{"role":"developer","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":""}]},{"role":"system","content":"b"},{"role":"user","content":"hi"}]}`, "",
			`system=[{"text":"a"},{"cachePoint":{"type":"default"}},{"text":"b"}]`},
		{"document", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"Q3  report_v2 (final).pdf"}}]}]}`, "",
			`messages.0.content.0={"document":{"format":"pdf","name":"Q3 report v2 (final)","source":{"bytes":"JVBERi0="}}}`},
		{"document without name", `{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"file","file":{"file_data":"data:text/plain;base64,aGk="}}]}]}`, "",
			`messages.0.content.1={"document":{"format":"txt","name":"document-1","source":{"bytes":"aGk="}}}`},
		{"image jpg and tool result image", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"ok"},{"type":"image_url","image_url":{"url":"data:image/jpg;base64,/9j/"}}]}]}`, "",
			`messages.2.content.0.toolResult.content=[{"text":"ok"},{"image":{"format":"jpeg","source":{"bytes":"/9j/"}}}]`},
		{"assistant prefill kept last", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"{"}]}`, "",
			`messages.1={"role":"assistant","content":[{"text":"{"}]}`},
		{"empty assistant turn disappears", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`, "",
			`messages=[{"role":"user","content":[{"text":"a"},{"text":"b"}]}]`},
	}
	both(t, func(t *testing.T, tg plugintest.Target) {
		t.Run("model from the body without a model id", func(t *testing.T) {
			out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Body: []byte(`{"model":"cohere.command-r-v1:0","messages":[]}`)})
			if err != nil || out.Path != "/model/cohere.command-r-v1%3A0/converse" {
				t.Fatalf("%s, %v", out.Path, err)
			}
			_, err = tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Body: []byte(`{"messages":[]}`)})
			if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Param != "model" {
				t.Fatalf("no model: %+v", ae)
			}
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Body: []byte(tc.body), Options: []byte(tc.options)})
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(out.Body) {
					t.Fatalf("invalid JSON: %s", out.Body)
				}
				for _, cond := range strings.Split(tc.want, " && ") {
					path, want, _ := strings.Cut(cond, "=")
					got := gjson.GetBytes(out.Body, path)
					if want == "" {
						if got.Exists() {
							t.Fatalf("%s = %s, want none\n%s", path, got.Raw, out.Body)
						}
						continue
					}
					if !got.Exists() {
						t.Fatalf("%s missing\n%s", path, out.Body)
					}
					plugintest.JSONEqual(t, path, []byte(got.Raw), []byte(want))
				}
			})
		}
	})
}

func TestEscapeSegment(t *testing.T) {
	for in, want := range map[string]string{
		"amazon.nova-lite-v1:0": "amazon.nova-lite-v1%3A0",
		"plain-id_1.2~x":        "plain-id_1.2~x",
		"a/b c%d?é":             "a%2Fb%20c%25d%3F%C3%A9",
		"":                      "",
	} {
		if got := escapeSegment(in); got != want {
			t.Errorf("escapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

// requestState returns the state Request gives a call, as the host would
// hand it to Response and StreamEvent.
func requestState(t *testing.T, tg plugintest.Target, requestID string, flags uint32) []byte {
	t.Helper()
	out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: testModel, Flags: flags, RequestID: requestID,
		Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`), UnixMS: testMS})
	if err != nil {
		t.Fatal(err)
	}
	return out.State
}

// TestResponseGolden: Converse responses → canonical completions, compared
// with golden files written by hand from MAPPING.md §6.
func TestResponseGolden(t *testing.T) {
	cases := []struct {
		in, want string
		usage    abi.Usage
	}{
		{"converse-text.response.json", "chat-text.completion.json",
			abi.Usage{InputTokens: 1843, OutputTokens: 212, CachedTokens: 1664, CacheWriteTokens: 122}},
		{"converse-tool-use.response.json", "chat-tool-use.completion.json", abi.Usage{InputTokens: 412, OutputTokens: 118}},
		{"converse-tool-only.response.json", "chat-tool-only.completion.json", abi.Usage{InputTokens: 300, OutputTokens: 20}},
	}
	both(t, func(t *testing.T, tg plugintest.Target) {
		state := requestState(t, tg, "req_01JCEXAMPLE", 0)
		for _, tc := range cases {
			t.Run(tc.in, func(t *testing.T) {
				out, err := tg.Response(&abi.ResponseIn{State: state, Status: 200, Body: plugintest.Fixture(t, tc.in)})
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "completion", out.Body, plugintest.Fixture(t, tc.want))
				if out.Usage == nil || *out.Usage != tc.usage {
					t.Fatalf("usage = %+v, want %+v", out.Usage, tc.usage)
				}
			})
		}
		for file, finish := range map[string]string{"converse-max-tokens.response.json": "length", "converse-guardrail.response.json": "content_filter"} {
			out, err := tg.Response(&abi.ResponseIn{State: state, Status: 200, Body: plugintest.Fixture(t, file)})
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(out.Body, "choices.0.finish_reason").String(); got != finish {
				t.Fatalf("%s: finish_reason %s, want %s", file, got, finish)
			}
		}
		if _, err := tg.Response(&abi.ResponseIn{State: state, Status: 200, Body: []byte(`{"output":`)}); plugintest.ErrorOf(t, err).Status != 502 {
			t.Fatalf("a broken 200 body: %v", err)
		}
	})
}

func TestFinishReason(t *testing.T) {
	for _, tc := range []struct {
		stop  string
		tools bool
		want  string
	}{
		{"end_turn", false, "stop"}, {"stop_sequence", false, "stop"}, {"tool_use", false, "tool_calls"},
		{"max_tokens", false, "length"}, {"model_context_window_exceeded", true, "length"},
		{"guardrail_intervened", false, "content_filter"}, {"content_filtered", true, "content_filter"},
		{"malformed_tool_use", false, "stop"}, {"end_turn", true, "tool_calls"}, {"", false, "stop"},
	} {
		if got := finishReason(tc.stop, tc.tools); got != tc.want {
			t.Errorf("finishReason(%q, %v) = %s, want %s", tc.stop, tc.tools, got, tc.want)
		}
	}
}

// TestUsageMapping: Bedrock's inputTokens excludes cache reads and writes;
// the canonical input count includes them; output includes reasoning,
// which Bedrock does not count apart.
func TestUsageMapping(t *testing.T) {
	for _, tc := range []struct {
		usage string
		want  abi.Usage
	}{
		{`{"inputTokens":10,"outputTokens":20,"totalTokens":30}`, abi.Usage{InputTokens: 10, OutputTokens: 20}},
		{`{"inputTokens":10,"outputTokens":20,"totalTokens":1530,"cacheReadInputTokens":1000,"cacheWriteInputTokens":500}`,
			abi.Usage{InputTokens: 1510, OutputTokens: 20, CachedTokens: 1000, CacheWriteTokens: 500}},
		{`{"inputTokens":0,"outputTokens":0,"totalTokens":2048,"cacheReadInputTokens":2048}`, abi.Usage{InputTokens: 2048, CachedTokens: 2048}},
	} {
		if got := *parseUsage(gjson.Parse(tc.usage)); got != tc.want {
			t.Errorf("%s → %+v, want %+v", tc.usage, got, tc.want)
		}
	}
	// Reasoning: a response with reasoning content reports it in
	// reasoning_content, its tokens within completion_tokens (0 apart).
	both(t, func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Response(&abi.ResponseIn{State: requestState(t, tg, "r", 0), Status: 200, Body: plugintest.Fixture(t, "converse-text.response.json")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Usage.ReasoningTokens != 0 || out.Usage.OutputTokens != 212 ||
			gjson.GetBytes(out.Body, "usage.completion_tokens_details.reasoning_tokens").Int() != 0 ||
			gjson.GetBytes(out.Body, "usage.prompt_tokens_details.cached_tokens").Int() != 1664 ||
			gjson.GetBytes(out.Body, "usage.total_tokens").Int() != 2055 {
			t.Fatalf("usage %+v, body %s", out.Usage, out.Body)
		}
	})
}

func TestUpstreamErrors(t *testing.T) {
	const coral = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
	cases := []struct {
		file, errType string
		status        uint32
		retryAfter    string
		wantStatus    int
		wantType      string
		wantCode      string
		retryable     bool
		retryMS       int64
	}{
		{"error-400-validation.response.json", "ValidationException" + coral, 400, "", 400, "invalid_request_error", "", false, 0},
		{"error-400-input-too-long.response.json", "ValidationException" + coral, 400, "", 400, "invalid_request_error", "context_length_exceeded", false, 0},
		{"error-400-validation-type-in-body.response.json", "", 400, "", 400, "invalid_request_error", "", false, 0},
		{"error-400-service-quota.response.json", "ServiceQuotaExceededException" + coral, 400, "", 429, "rate_limit_error", "service_quota_exceeded", true, 0},
		{"error-403-access-denied.response.json", "AccessDeniedException" + coral, 403, "", 502, "upstream_error", "upstream_auth_failed", true, 0},
		{"error-403-unrecognized-client.response.json", "UnrecognizedClientException" + coral, 403, "", 502, "upstream_error", "upstream_auth_failed", true, 0},
		{"error-403-invalid-signature.response.json", "InvalidSignatureException" + coral, 403, "", 502, "upstream_error", "upstream_auth_failed", true, 0},
		{"error-404-resource-not-found.response.json", "ResourceNotFoundException" + coral, 404, "", 404, "invalid_request_error", "model_not_found", false, 0},
		{"error-408-model-timeout.response.json", "ModelTimeoutException" + coral, 408, "", 504, "upstream_timeout", "", true, 0},
		{"error-424-model-error.response.json", "ModelErrorException" + coral, 424, "", 502, "upstream_error", "", true, 0},
		{"error-429-throttling.response.json", "ThrottlingException" + coral, 429, "2", 429, "rate_limit_error", "rate_limit_exceeded", true, 2000},
		{"error-429-model-not-ready.response.json", "ModelNotReadyException" + coral, 429, "", 503, "upstream_overloaded", "", true, 0},
		{"error-500-internal-server.response.json", "InternalServerException" + coral, 500, "", 502, "upstream_error", "", true, 0},
		{"error-503-service-unavailable.response.json", "ServiceUnavailableException" + coral, 503, "", 503, "upstream_overloaded", "", true, 0},
		{"", "", 502, "", 502, "upstream_error", "", true, 0}, // a body that is not JSON
	}
	both(t, func(t *testing.T, tg plugintest.Target) {
		for _, tc := range cases {
			t.Run(tc.file+tc.errType, func(t *testing.T) {
				body := []byte("<html>Bad Gateway</html>")
				if tc.file != "" {
					body = plugintest.Fixture(t, tc.file)
				}
				var hs []abi.Header
				if tc.errType != "" {
					hs = append(hs, abi.Header{Name: "X-Amzn-Errortype", Value: tc.errType})
				}
				if tc.retryAfter != "" {
					hs = append(hs, abi.Header{Name: "Retry-After", Value: tc.retryAfter})
				}
				hs = append(hs, abi.Header{Name: "X-Amzn-Requestid", Value: "7b1bb0a6-7b3c-4ad5-8d0b-EXAMPLE"})
				_, err := tg.Response(&abi.ResponseIn{State: requestState(t, tg, "r", 0), Status: tc.status, Headers: hs, Body: body})
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != tc.wantStatus || ae.Type != tc.wantType || ae.Code != tc.wantCode || ae.Retryable != tc.retryable ||
					ae.RetryAfterMS != tc.retryMS || ae.Message == "" {
					t.Fatalf("got %+v", ae)
				}
				if tc.wantCode == "upstream_auth_failed" && strings.Contains(ae.Message, gjson.GetBytes(body, "message").String()) {
					t.Fatalf("the provider's auth message was passed on: %s", ae.Message)
				}
				if tc.wantStatus == 400 && ae.Message != gjson.GetBytes(body, "message").String() {
					t.Fatalf("message %q", ae.Message)
				}
			})
		}
	})
}

// esEvents encodes a stream file (a JSON array of {"event", "payload"}) as
// the AWS event-stream Bedrock sends, with the SDK's encoder. An event
// named "exception:<type>" becomes an exception message.
func esEvents(t testing.TB, file string) []byte {
	t.Helper()
	var evs []struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(plugintest.Fixture(t, file), &evs); err != nil {
		t.Fatal(err)
	}
	var msgs []eventstream.Message
	for _, e := range evs {
		msgs = append(msgs, esMessage(e.Event, e.Payload))
	}
	return encode(t, msgs...)
}

func esMessage(event string, payload []byte) eventstream.Message {
	if typ, ok := strings.CutPrefix(event, "exception:"); ok {
		return eventstream.Message{Headers: eventstream.Headers{
			{Name: ":exception-type", Value: eventstream.StringValue(typ)},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
		}, Payload: payload}
	}
	return eventstream.Message{Headers: eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(event)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}, Payload: payload}
}

func encode(t testing.TB, msgs ...eventstream.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, m := range msgs {
		if err := enc.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// chunksEqual compares the chunks with a golden JSON array of chunks.
func chunksEqual(t *testing.T, got []string, file string) {
	t.Helper()
	var want []json.RawMessage
	if err := json.Unmarshal(plugintest.Fixture(t, file), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range got {
		plugintest.JSONEqual(t, "chunk "+string(rune('0'+i)), []byte(got[i]), want[i])
	}
}

// TestStreamGolden runs binary ConverseStream bodies (encoded with the AWS
// SDK's encoder) through the host's aws-eventstream framer, split at every
// byte and at random cuts, natively and as the real bedrock.wasm.
func TestStreamGolden(t *testing.T) {
	both(t, func(t *testing.T, tg plugintest.Target) {
		t.Run("text with reasoning, cache usage, include_usage", func(t *testing.T) {
			res := plugintest.Stream(t, tg, requestState(t, tg, "req_stream_1", abi.FlagStream|abi.FlagIncludeUsage), esEvents(t, "converse-stream-text.events.json"))
			if !res.Done || res.Err != nil || res.FramingErr != nil {
				t.Fatalf("%s", res)
			}
			chunksEqual(t, res.Chunks, "converse-stream-text.chunks.json")
			if want := (abi.Usage{InputTokens: 1047, OutputTokens: 19, CachedTokens: 1024}); res.Usage == nil || *res.Usage != want {
				t.Fatalf("usage = %+v, want %+v", res.Usage, want)
			}
		})
		t.Run("tools, no usage chunk", func(t *testing.T) {
			res := plugintest.Stream(t, tg, requestState(t, tg, "req_stream_2", abi.FlagStream), esEvents(t, "converse-stream-tools.events.json"))
			if !res.Done || res.Err != nil || res.FramingErr != nil {
				t.Fatalf("%s", res)
			}
			chunksEqual(t, res.Chunks, "converse-stream-tools.chunks.json")
			if want := (abi.Usage{InputTokens: 431, OutputTokens: 96}); res.Usage == nil || *res.Usage != want {
				t.Fatalf("usage must reach the host even without the usage chunk: %+v", res.Usage)
			}
		})
		t.Run("throttling exception mid-stream", func(t *testing.T) {
			res := plugintest.Stream(t, tg, requestState(t, tg, "req_stream_3", abi.FlagStream), esEvents(t, "converse-stream-exception.events.json"))
			if res.Done || res.Err == nil || len(res.Chunks) != 2 || !strings.Contains(res.Chunks[1], `"Partial answ"`) {
				t.Fatalf("%s", res)
			}
			if e := res.Err; e.Status != 502 || e.Type != "rate_limit_error" || !e.Retryable ||
				e.Message != "bedrock throttlingException: Too many tokens, please wait before trying again." {
				t.Fatalf("error = %+v", *e)
			}
		})
		t.Run("cut stream", func(t *testing.T) {
			body := esEvents(t, "converse-stream-text.events.json")
			res := plugintest.Stream(t, tg, requestState(t, tg, "r", abi.FlagStream), body[:len(body)-20])
			if res.Done || res.FramingErr == nil || len(res.Chunks) != 5 {
				t.Fatalf("%s", res)
			}
		})
	})
}

// streamOne runs events through the plugin in one call, from the state of
// a stream request.
func streamOne(t *testing.T, tg plugintest.Target, flags uint32, evs ...abi.Event) abi.StreamOut {
	t.Helper()
	out, err := tg.StreamEvent(&abi.StreamIn{State: requestState(t, tg, "req_s", abi.FlagStream|flags), Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ev(name, data string) abi.Event { return abi.Event{Name: []byte(name), Data: []byte(data)} }

func TestStreamEdges(t *testing.T) {
	both(t, func(t *testing.T, tg plugintest.Target) {
		t.Run("in-stream exceptions", func(t *testing.T) {
			for _, tc := range []struct {
				name, data, typ string
				retryable       bool
			}{
				{"exception:throttlingException", `{"message":"slow down"}`, "rate_limit_error", true},
				{"exception:ThrottlingException", `{"Message":"slow down"}`, "rate_limit_error", true},
				{"exception:serviceUnavailableException", `{"message":"m"}`, "upstream_overloaded", true},
				{"exception:internalServerException", `{"message":"m"}`, "upstream_error", true},
				{"exception:modelStreamErrorException", `{"message":"m","originalStatusCode":500}`, "upstream_error", true},
				{"exception:validationException", `{"message":"m"}`, "invalid_request_error", false},
				{"exception:somethingNewException", `{"message":"m"}`, "upstream_error", false},
				{"error:InternalFailure", `An internal error occurred`, "upstream_error", false},
			} {
				out := streamOne(t, tg, 0, ev("messageStart", `{"role":"assistant"}`), ev(tc.name, tc.data), ev("messageStop", `{"stopReason":"end_turn"}`))
				e := out.Error
				if e == nil || e.Status != 502 || e.Type != tc.typ || e.Retryable != tc.retryable || e.Message == "" || len(out.Chunks) != 1 || out.Flags != 0 {
					t.Fatalf("%s: %+v %+v", tc.name, out, e)
				}
				if _, kind, _ := strings.Cut(tc.name, ":"); !strings.Contains(e.Message, kind) {
					t.Fatalf("%s: message %q", tc.name, e.Message)
				}
			}
		})
		t.Run("metadata without messageStop still finishes", func(t *testing.T) {
			out := streamOne(t, tg, abi.FlagIncludeUsage, ev("metadata", `{"usage":{"inputTokens":3,"outputTokens":0,"totalTokens":3}}`))
			if len(out.Chunks) != 3 || !strings.Contains(string(out.Chunks[0]), `"role":"assistant"`) ||
				!strings.Contains(string(out.Chunks[1]), `"finish_reason":"stop"`) || !strings.Contains(string(out.Chunks[2]), `"choices":[]`) ||
				out.Flags&abi.StreamDone == 0 || out.Usage == nil || out.Usage.InputTokens != 3 {
				t.Fatalf("%+v", out)
			}
		})
		t.Run("unknown events and message types are ignored", func(t *testing.T) {
			out := streamOne(t, tg, 0, ev("messageStart", `{"role":"assistant"}`), ev("somethingNew", `not json`), ev("future:thing", `{}`),
				ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"citation":{"title":"x"}}}`))
			if out.Error != nil || len(out.Chunks) != 1 {
				t.Fatalf("%+v", out)
			}
		})
		t.Run("a known event that is not JSON", func(t *testing.T) {
			out := streamOne(t, tg, 0, ev("messageStart", `{"role":"assistant"}`), ev("messageStop", `{"stopReason":`))
			if out.Error == nil || out.Error.Status != 502 || !out.Error.Retryable || len(out.Chunks) != 1 {
				t.Fatalf("%+v", out)
			}
		})
		t.Run("a delta is copied only if its literal is valid", func(t *testing.T) {
			out := streamOne(t, tg, 0, ev("messageStart", `{"role":"assistant"}`),
				ev("contentBlockDelta", `{"delta":{"text":"cut`),
				ev("contentBlockDelta", "{\"delta\":{\"text\":\"a\x01b\"}}"),
				ev("contentBlockDelta", `{"delta":{"text":"bad \x escape"}}`),
				ev("contentBlockDelta", `{"delta":{"text":"bad \u12 escape"}}`),
				ev("contentBlockDelta", `{"delta":{"text":42}}`),
				ev("contentBlockDelta", `{"delta":{"text":"ok \u00e9\n\"q\""}}`))
			if out.Error != nil || len(out.Chunks) != 2 || gjson.GetBytes(out.Chunks[1], "choices.0.delta.content").String() != "ok é\n\"q\"" {
				t.Fatalf("%+v", out)
			}
		})
		t.Run("tool block closed by messageStop gets {}", func(t *testing.T) {
			out := streamOne(t, tg, 0, ev("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}}`),
				ev("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t2","name":"g"}}}`),
				ev("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":1}"}}}`),
				ev("messageStop", `{"stopReason":"tool_use"}`))
			var got []string
			for _, c := range out.Chunks {
				got = append(got, gjson.GetBytes(c, "choices.0.delta.tool_calls.0.index").Raw+gjson.GetBytes(c, "choices.0.delta.tool_calls.0.function.arguments").Raw+gjson.GetBytes(c, "choices.0.finish_reason").Raw)
			}
			want := []string{`null`, `0""null`, `0"{}"null`, `1""null`, `1"{\"a\":1}"null`, `"tool_calls"`}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	})
}

func FuzzRequest(f *testing.F) {
	for _, file := range []string{"openai-text.request.json", "openai-tool-result.request.json", "openai-stream-tools.request.json", "openai-edge.request.json"} {
		f.Add(plugintest.Fixture(f, file), []byte(`{}`), uint32(abi.FlagStream))
	}
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"text","text":"a"}]}]}`), []byte(`{"additional_model_request_fields":{"a":1}}`), uint32(0))
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, body, options []byte, flags uint32) {
		if !json.Valid(body) {
			return // the host validates bodies before the plugin sees them
		}
		res := provider.Invoke(p, abi.ExportRequest, (&abi.RequestIn{API: abi.APIChatCompletions, Model: "amazon.nova-lite-v1:0", Flags: flags, Body: body, Options: options}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if st != abi.StatusOK {
			var f [1][]byte
			abi.Fields(rec, f[:])
			var ae abi.Error
			if err := json.Unmarshal(f[0], &ae); err != nil || ae.Status != 400 && ae.Status != 0 {
				// Only a 400 is an acceptable refusal (a panic is a 502).
				t.Fatalf("error %s for %s", f[0], body)
			}
			return
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		if json.Valid(options) && !json.Valid(out.Body) {
			t.Fatalf("invalid upstream body %s\nfrom %s", out.Body, body)
		}
	})
}

func FuzzStreamEvent(f *testing.F) {
	for _, file := range []string{"converse-stream-text.events.json", "converse-stream-tools.events.json", "converse-stream-exception.events.json"} {
		gjson.ParseBytes(plugintest.Fixture(f, file)).ForEach(func(_, e gjson.Result) bool {
			f.Add(e.Get("event").String(), []byte(e.Get("payload").Raw), byte(flagWantUsage), int64(1))
			return true
		})
	}
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, name string, data []byte, flags byte, toolBlock int64) {
		st := state{flags: flags, created: 1, tools: 1, toolBlock: toolBlock & 7, id: "chatcmpl-x", model: "m"}
		res := provider.Invoke(p, abi.ExportStreamEvent, (&abi.StreamIn{State: st.encode(), Events: []abi.Event{{Name: []byte(name), Data: data}, {Name: []byte(name), Data: data}}}).Append(nil))
		status, rec, err := abi.SplitResult(res)
		if err != nil || status != abi.StatusOK {
			t.Fatalf("status %d: %s", status, rec)
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			t.Fatalf("malformed record: %v", err)
		}
		for _, c := range out.Chunks {
			if !json.Valid(c) {
				t.Fatalf("invalid chunk %s from %q %q", c, name, data)
			}
		}
		if out.Error != nil && out.Error.Status != 502 {
			t.Fatalf("error %+v", out.Error)
		}
	})
}

// typicalRequest is a typical streamed chat request.
const typicalRequest = `{"model":"bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0","messages":[{"role":"system","content":"You are a helpful assistant."},` +
	`{"role":"user","content":"Summarize the plot of Hamlet in two sentences."}],"temperature":0.7,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true}}`

// BenchmarkWasmRequest: a typical chat request through the real
// bedrock.wasm.
func BenchmarkWasmRequest(b *testing.B) {
	benchRequest(b, plugintest.Wasm(b, "bedrock", nil), []byte(typicalRequest))
}

// BenchmarkWasmRequestTools: a request with tools, an image and a JSON
// schema (openai-stream-tools.request.json).
func BenchmarkWasmRequestTools(b *testing.B) {
	benchRequest(b, plugintest.Wasm(b, "bedrock", nil), plugintest.Fixture(b, "openai-stream-tools.request.json"))
}

// BenchmarkNativeRequestTools is BenchmarkWasmRequestTools without Wasm.
func BenchmarkNativeRequestTools(b *testing.B) {
	benchRequest(b, plugintest.Native(newPlugin(nil)), plugintest.Fixture(b, "openai-stream-tools.request.json"))
}

func benchRequest(b *testing.B, tg plugintest.Target, body []byte) {
	in := &abi.RequestIn{API: abi.APIChatCompletions, Model: testModel, Flags: abi.FlagStream | abi.FlagIncludeUsage, RequestID: "req_1",
		Body: body, UnixMS: testMS}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWasmStreamEvent: one typical text delta through bedrock.wasm.
func BenchmarkWasmStreamEvent(b *testing.B) {
	tg := plugintest.Wasm(b, "bedrock", nil)
	out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: testModel, Flags: abi.FlagStream, RequestID: "req_1",
		Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`), UnixMS: testMS})
	if err != nil {
		b.Fatal(err)
	}
	first, err := tg.StreamEvent(&abi.StreamIn{State: out.State, Events: []abi.Event{ev("messageStart", `{"p":"abcdefghijkl","role":"assistant"}`)}})
	if err != nil {
		b.Fatal(err)
	}
	in := &abi.StreamIn{State: bytes.Clone(first.State), Events: []abi.Event{ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" Bonjour à tous, voici la réponse"},"p":"abcdefghijklmnopq"}`)}}
	b.ReportAllocs()
	for b.Loop() {
		res, err := tg.StreamEvent(in)
		if err != nil || len(res.Chunks) != 1 {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkNativeStreamEvent is BenchmarkWasmStreamEvent without Wasm.
func BenchmarkNativeStreamEvent(b *testing.B) {
	p := newPlugin(nil)
	st := state{flags: flagStarted, created: 1730800215, id: "chatcmpl-req_1", model: testModel}
	in := (&abi.StreamIn{State: st.encode(), Events: []abi.Event{ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" Bonjour à tous, voici la réponse"},"p":"abcdefghijklmnopq"}`)}}).Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		provider.Invoke(p, abi.ExportStreamEvent, in)
	}
}
