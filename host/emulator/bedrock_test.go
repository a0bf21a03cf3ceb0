package emulator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/aignehub/hub/host/emulator"
)

const haiku = "anthropic.claude-3-5-haiku-20241022-v1:0"

// bedrockCall describes a Bedrock request; the zero values sign it
// correctly with the default credentials.
type bedrockCall struct {
	model, action, query string
	body                 []byte
	akid, secret, token  string
	region, service      string
	at                   time.Time
	headers              []string // set before signing
	payloadHash          string   // "" : the body's
	after                func(*http.Request)
	unsigned             bool
}

// bedrockEscape escapes a model id as the AWS SDK does (':' and '/'
// included).
func bedrockEscape(id string) string {
	return strings.ReplaceAll(url.PathEscape(id), ":", "%3A")
}

func (c bedrockCall) do(t testing.TB, srv *httptest.Server) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Client().Do(c.request(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// request builds the (signed) request.
func (c bedrockCall) request(t testing.TB, srv *httptest.Server) *http.Request {
	t.Helper()
	c.model = either(c.model, haiku)
	c.action = either(c.action, "converse")
	c.akid = either(c.akid, emulator.DefaultAWSAccessKeyID)
	c.secret = either(c.secret, emulator.DefaultAWSSecretAccessKey)
	c.region = either(c.region, "us-east-1")
	c.service = either(c.service, "bedrock")
	if c.at.IsZero() {
		c.at = time.Now()
	}
	if c.body == nil {
		c.body = []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/model/"+bedrockEscape(c.model)+"/"+c.action+c.query, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	if !c.unsigned {
		hash := c.payloadHash
		if hash == "" {
			sum := sha256.Sum256(c.body)
			hash = hex.EncodeToString(sum[:])
		}
		creds := aws.Credentials{AccessKeyID: c.akid, SecretAccessKey: c.secret, SessionToken: c.token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, c.service, c.region, c.at); err != nil {
			t.Fatal(err)
		}
	}
	if c.after != nil {
		c.after(req)
	}
	return req
}

func either(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// bedrockErrorCheck checks an AWS JSON error.
func bedrockErrorCheck(t testing.TB, resp *http.Response, got []byte, status int, typ string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("X-Amzn-Errortype") != typ {
		t.Fatalf("status %d, x-amzn-ErrorType %q; want %d %s: %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), status, typ, got)
	}
	if !slices.Equal(sortedKeys(t, got), []string{"message"}) || str(t, got, "message") == "" {
		t.Errorf("body %s", got)
	}
	if resp.Header.Get("Content-Type") != "application/json" || !uuidRE.MatchString(resp.Header.Get("X-Amzn-Requestid")) {
		t.Errorf("Content-Type %q, x-amzn-RequestId %q", resp.Header.Get("Content-Type"), resp.Header.Get("X-Amzn-Requestid"))
	}
}

func TestBedrockSigV4(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	other := []byte(`{"messages":[{"role":"user","content":[{"text":"something else"}]}]}`)
	otherSum := sha256.Sum256(other)
	for _, tt := range []struct {
		name    string
		call    bedrockCall
		typ     string // "": accepted
		message string
	}{
		{"good", bedrockCall{}, "", ""},
		{"other region", bedrockCall{region: "eu-west-3"}, "", ""},
		{"session token", bedrockCall{token: "session-token"}, "", ""},
		{"query", bedrockCall{query: "?b=2&a=1&a=0"}, "", ""},
		{"content sha256 header", bedrockCall{headers: []string{"X-Amz-Content-Sha256", hex.EncodeToString(sha256.New().Sum(nil))}, body: []byte{}}, "ValidationException", ""},
		{"arn model id", bedrockCall{model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"}, "", ""},
		{"unsigned header added", bedrockCall{after: func(r *http.Request) { r.Header.Set("X-Extra", "1") }}, "", ""},
		{"stream", bedrockCall{action: "converse-stream"}, "", ""},
		{"tampered body", bedrockCall{after: func(r *http.Request) {
			r.Body, r.ContentLength = nopCloser(bytes.NewReader(bytes.Replace(other, []byte("something"), []byte("somethinG"), 1))), int64(len(other))
		}, body: other}, "InvalidSignatureException", "does not match"},
		{"tampered path", bedrockCall{after: func(r *http.Request) {
			r.URL.RawPath = strings.Replace(r.URL.RawPath, "haiku", "sonnet", 1)
			r.URL.Path = strings.Replace(r.URL.Path, "haiku", "sonnet", 1)
		}}, "InvalidSignatureException", "does not match"},
		{"tampered query", bedrockCall{query: "?a=1", after: func(r *http.Request) { r.URL.RawQuery = "a=2" }}, "InvalidSignatureException", "does not match"},
		{"tampered signed header", bedrockCall{after: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }}, "InvalidSignatureException", "does not match"},
		{"tampered signature", bedrockCall{after: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+string("01"[(a[len(a)-1]-'0'+1)%2]))
		}}, "InvalidSignatureException", "does not match"},
		{"content sha256 of another body", bedrockCall{headers: []string{"X-Amz-Content-Sha256", hex.EncodeToString(otherSum[:])}, payloadHash: hex.EncodeToString(otherSum[:])}, "InvalidSignatureException", "does not match"},
		{"wrong secret", bedrockCall{secret: "not-the-secret"}, "InvalidSignatureException", "does not match"},
		{"unknown key id", bedrockCall{akid: "AKIDOTHER"}, "UnrecognizedClientException", "security token"},
		{"wrong service", bedrockCall{service: "s3"}, "InvalidSignatureException", "scoped to correct service"},
		{"expired", bedrockCall{at: time.Now().Add(-10 * time.Minute)}, "InvalidSignatureException", "Signature expired"},
		{"from the future", bedrockCall{at: time.Now().Add(10 * time.Minute)}, "InvalidSignatureException", "not yet current"},
		{"unsigned", bedrockCall{unsigned: true}, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"malformed", bedrockCall{unsigned: true, headers: []string{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/x"}}, "IncompleteSignatureException", "Credential"},
		{"no date", bedrockCall{after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }}, "IncompleteSignatureException", "X-Amz-Date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := tt.call.do(t, srv)
			if tt.typ == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d (%s): %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), got)
				}
				return
			}
			status := 403
			if tt.typ == "ValidationException" {
				status = 400 // signed, then refused for the empty body
			}
			bedrockErrorCheck(t, resp, got, status, tt.typ)
			if !strings.Contains(str(t, got, "message"), tt.message) {
				t.Errorf("message %q lacks %q", str(t, got, "message"), tt.message)
			}
		})
	}
}

func nopCloser(r *bytes.Reader) *readCloser { return &readCloser{r} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestBedrockCredentials(t *testing.T) {
	_, srv := newServer(t, emulator.Options{AWSAccessKeyID: "AKIDCUSTOM", AWSSecretAccessKey: "custom-secret", APIKey: "bedrock-api-key"})
	if resp, got := (bedrockCall{akid: "AKIDCUSTOM", secret: "custom-secret"}).do(t, srv); resp.StatusCode != 200 {
		t.Errorf("custom credentials: %d %s", resp.StatusCode, got)
	}
	resp, got := (bedrockCall{}).do(t, srv)
	bedrockErrorCheck(t, resp, got, 403, "UnrecognizedClientException")
	// Bedrock API keys are bearer tokens.
	for key, status := range map[string]int{"bedrock-api-key": 200, "other-key": 403} {
		resp, got := (bedrockCall{unsigned: true, headers: []string{"Authorization", "Bearer " + key}}).do(t, srv)
		if resp.StatusCode != status {
			t.Errorf("bearer %s: %d %s", key, resp.StatusCode, got)
		}
	}
}

func TestBedrockConverse(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	tools := `"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"d","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}}}}}},{"toolSpec":{"name":"second","inputSchema":{"json":{"type":"object"}}}}]}`
	t.Run("text", func(t *testing.T) {
		body := `{"system":[{"text":"` + strings.Repeat("s", 40) + `"}],"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("u", 40) + `"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]}],"inferenceConfig":{"maxTokens":100,"temperature":0.2,"topP":0.9}}`
		resp, got := (bedrockCall{body: []byte(body)}).do(t, srv)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !uuidRE.MatchString(resp.Header.Get("X-Amzn-Requestid")) {
			t.Fatalf("status %d, headers %v: %s", resp.StatusCode, resp.Header, got)
		}
		if !slices.Equal(sortedKeys(t, got), []string{"metrics", "output", "stopReason", "usage"}) {
			t.Errorf("keys %v", sortedKeys(t, got))
		}
		if str(t, got, "output.message.role") != "assistant" || str(t, got, "output.message.content.0.text") != "Hello from the AIGNE Hub" || str(t, got, "stopReason") != "end_turn" {
			t.Errorf("answer %s", got)
		}
		if num(t, got, "usage.inputTokens") != 20 || num(t, got, "usage.outputTokens") != 5 || num(t, got, "usage.totalTokens") != 25 || num(t, got, "metrics.latencyMs") < 0 {
			t.Errorf("usage %s", got)
		}
		if field(t, got, "usage.cacheReadInputTokens") != nil {
			t.Errorf("cache counts without a cache hit: %s", got)
		}
	})
	t.Run("tool use", func(t *testing.T) {
		_, got := (bedrockCall{body: []byte(`{"messages":[{"role":"user","content":[{"text":"weather?"}]}],` + tools + `}`)}).do(t, srv)
		args, _ := json.Marshal(field(t, got, "output.message.content.1.toolUse.input"))
		if str(t, got, "stopReason") != "tool_use" || str(t, got, "output.message.content.0.text") == "" || str(t, got, "output.message.content.1.toolUse.name") != "get_weather" ||
			!strings.HasPrefix(str(t, got, "output.message.content.1.toolUse.toolUseId"), "tooluse_") || string(args) != `{"city":"example","unit":"celsius"}` {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("tool choice", func(t *testing.T) {
		_, got := (bedrockCall{body: []byte(`{"messages":[{"role":"user","content":[{"text":"weather?"}]}],` + strings.TrimSuffix(tools, "}") + `,"toolChoice":{"tool":{"name":"second"}}}}`)}).do(t, srv)
		if str(t, got, "output.message.content.1.toolUse.name") != "second" {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("tool result", func(t *testing.T) {
		body := `{"messages":[{"role":"user","content":[{"text":"weather?"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]},` +
			`{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"json":{"c":18}}]}}]}],` + tools + `}`
		_, got := (bedrockCall{body: []byte(body)}).do(t, srv)
		if str(t, got, "stopReason") != "end_turn" || len(field(t, got, "output.message.content").([]any)) != 1 {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		_, got := (bedrockCall{body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":2}}`)}).do(t, srv)
		if str(t, got, "stopReason") != "max_tokens" || str(t, got, "output.message.content.0.text") != "Hello from" {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("stop sequence", func(t *testing.T) {
		_, got := (bedrockCall{body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"stopSequences":["AIGNE"]}}`)}).do(t, srv)
		if str(t, got, "stopReason") != "stop_sequence" || str(t, got, "output.message.content.0.text") != "Hello from the " {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("cached", func(t *testing.T) {
		_, got := (bedrockCall{headers: []string{emulator.HeaderCached, "100"}}).do(t, srv)
		in, out := num(t, got, "usage.inputTokens"), num(t, got, "usage.outputTokens")
		if num(t, got, "usage.cacheReadInputTokens") != 100 || num(t, got, "usage.cacheWriteInputTokens") != 0 || num(t, got, "usage.totalTokens") != in+out+100 || in != 1 {
			t.Errorf("usage %s", got)
		}
	})
}

func TestBedrockErrors(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: []string{haiku}})
	for _, tt := range []struct {
		name   string
		call   bedrockCall
		status int
		typ    string
	}{
		{"invalid JSON", bedrockCall{body: []byte(`{"messages":`)}, 400, "ValidationException"},
		{"no messages", bedrockCall{body: []byte(`{}`)}, 400, "ValidationException"},
		{"assistant first", bedrockCall{body: []byte(`{"messages":[{"role":"assistant","content":[{"text":"hi"}]}]}`)}, 400, "ValidationException"},
		{"content string", bedrockCall{body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)}, 400, "ValidationException"},
		{"zero maxTokens", bedrockCall{body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":0}}`)}, 400, "ValidationException"},
		{"unknown model", bedrockCall{model: "anthropic.claude-9"}, 400, "ValidationException"},
		{"model not ready", bedrockCall{model: "anthropic.not-ready-v1:0"}, 429, "ModelNotReadyException"},
		{"unknown action", bedrockCall{action: "invoke"}, 404, "UnknownOperationException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := tt.call.do(t, srv)
			bedrockErrorCheck(t, resp, got, tt.status, tt.typ)
		})
	}
	for status, typ := range map[int]string{400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
		408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException", 418: "ValidationException", 502: "InternalServerException"} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			resp, got := (bedrockCall{headers: []string{emulator.HeaderStatus, strconv.Itoa(status), emulator.HeaderRetryAfter, "4"}}).do(t, srv)
			bedrockErrorCheck(t, resp, got, status, typ)
			if resp.Header.Get("Retry-After") != "4" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}
	resp, got := (bedrockCall{headers: []string{emulator.HeaderStatus, "429", emulator.HeaderQuota, "1"}}).do(t, srv)
	bedrockErrorCheck(t, resp, got, 429, "ServiceQuotaExceededException")
	// A bad switch is a ValidationException too.
	resp, got = (bedrockCall{headers: []string{emulator.HeaderChunks, "many"}}).do(t, srv)
	bedrockErrorCheck(t, resp, got, 400, "ValidationException")
}

// streamEvent is a decoded Bedrock stream message.
type streamEvent struct {
	messageType, eventType, exceptionType string
	payload                               []byte
}

func bedrockStream(t testing.TB, srv *httptest.Server, c bedrockCall) []streamEvent {
	t.Helper()
	c.action = "converse-stream"
	resp, body := c.do(t, srv)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var out []streamEvent
	for _, m := range decodeEventStream(t, body) {
		if ct := header(m, ":content-type"); ct != "application/json" || !json.Valid(m.Payload) {
			t.Fatalf(":content-type %q, payload %s", ct, m.Payload)
		}
		out = append(out, streamEvent{header(m, ":message-type"), header(m, ":event-type"), header(m, ":exception-type"), m.Payload})
	}
	return out
}

func eventTypes(evs []streamEvent) []string {
	var out []string
	for _, e := range evs {
		if e.messageType == "exception" {
			out = append(out, "exception:"+e.exceptionType)
		} else {
			out = append(out, e.eventType)
		}
	}
	return out
}

func TestBedrockStream(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 3})
	t.Run("text", func(t *testing.T) {
		evs := bedrockStream(t, srv, bedrockCall{headers: []string{emulator.HeaderCached, "9"}})
		want := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
		if !slices.Equal(eventTypes(evs), want) {
			t.Fatalf("events %v", eventTypes(evs))
		}
		var text strings.Builder
		for _, e := range evs {
			if e.messageType != "event" || str(t, e.payload, "p") == "" {
				t.Errorf("event %s: message type %q, payload %s", e.eventType, e.messageType, e.payload)
			}
			if e.eventType == "contentBlockDelta" {
				if num(t, e.payload, "contentBlockIndex") != 0 {
					t.Errorf("delta %s", e.payload)
				}
				text.WriteString(str(t, e.payload, "delta.text"))
			}
		}
		if str(t, evs[0].payload, "role") != "assistant" || text.String() != "Hello from the" || str(t, evs[5].payload, "stopReason") != "end_turn" {
			t.Errorf("stream: %q %s %s", text.String(), evs[0].payload, evs[5].payload)
		}
		md := evs[6].payload
		if num(t, md, "usage.outputTokens") != 3 || num(t, md, "usage.cacheReadInputTokens") != 9 || num(t, md, "usage.totalTokens") != num(t, md, "usage.inputTokens")+12 || num(t, md, "metrics.latencyMs") < 0 {
			t.Errorf("metadata %s", md)
		}
	})
	t.Run("tool use", func(t *testing.T) {
		body := `{"messages":[{"role":"user","content":[{"text":"weather?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}}}}]}}`
		evs := bedrockStream(t, srv, bedrockCall{body: []byte(body)})
		want := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
			"contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
		if !slices.Equal(eventTypes(evs), want) {
			t.Fatalf("events %v", eventTypes(evs))
		}
		start := evs[5].payload
		if num(t, start, "contentBlockIndex") != 1 || str(t, start, "start.toolUse.name") != "f" || !strings.HasPrefix(str(t, start, "start.toolUse.toolUseId"), "tooluse_") {
			t.Errorf("contentBlockStart %s", start)
		}
		var input strings.Builder
		for _, e := range evs[6:9] {
			if num(t, e.payload, "contentBlockIndex") != 1 {
				t.Errorf("delta %s", e.payload)
			}
			input.WriteString(str(t, e.payload, "delta.toolUse.input"))
		}
		if input.String() != `{"a":1,"b":"example"}` || num(t, evs[9].payload, "contentBlockIndex") != 1 || str(t, evs[10].payload, "stopReason") != "tool_use" {
			t.Errorf("input %q, stop %s", input.String(), evs[10].payload)
		}
	})
	for _, tt := range []struct {
		name    string
		headers []string
		want    []string
	}{
		{"fail after 2", []string{emulator.HeaderFailAfter, "2"}, []string{"messageStart", "contentBlockDelta", "exception:internalServerException"}},
		{"fail after 0", []string{emulator.HeaderFailAfter, "0"}, []string{"exception:internalServerException"}},
		{"fail beyond", []string{emulator.HeaderFailAfter, "50", emulator.HeaderQuota, "1"},
			[]string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "exception:throttlingException"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs := bedrockStream(t, srv, bedrockCall{headers: tt.headers})
			if !slices.Equal(eventTypes(evs), tt.want) {
				t.Fatalf("events %v, want %v", eventTypes(evs), tt.want)
			}
			last := evs[len(evs)-1]
			if !slices.Equal(sortedKeys(t, last.payload), []string{"message"}) || last.eventType != "" {
				t.Errorf("exception %+v", last)
			}
		})
	}
}

func TestBedrockRecorded(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{Record: true})
	(bedrockCall{query: "?x=1"}).do(t, srv)
	rr := emu.Requests()
	if len(rr) != 1 {
		t.Fatalf("%d requests", len(rr))
	}
	r := rr[0]
	if r.Path != "/model/"+haiku+"/converse" || r.RawPath != "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse" || r.Query != "x=1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/") || r.Header.Get("X-Amz-Date") == "" {
		t.Errorf("recorded %+v", r)
	}
}
