package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The native Ollama API, as in the fixtures of shared/fixtures/ollama:
// POST /api/chat (NDJSON stream by default), POST /api/embed, GET
// /api/tags and GET /api/version. No authentication; errors are
// {"error":"…"}; compact JSON without a trailing newline.

var ollamaDialect = dialect{
	auth:    func(*Emulator, *exchange, []byte) *apiError { return nil },
	forced:  (*Emulator).ollamaForced,
	invalid: func(_ *exchange, msg string) *apiError { return ollamaError(http.StatusBadRequest, msg) },
	serve:   (*Emulator).serveOllama,
}

const (
	ctOllama       = "application/json; charset=utf-8"
	ctNDJSON       = "application/x-ndjson"
	ollamaVersion  = "0.12.6"
	ollamaMsgModel = "an error was encountered while running the model"
)

// ollamaDefaultModels is what GET /api/tags lists when Options.Models is
// nil.
var ollamaDefaultModels = []string{"llama3.2:latest", "qwen3:8b", "qwen3-vl:8b", "all-minilm:latest"}

func ollamaError(status int, msg string) *apiError {
	return &apiError{
		status:      status,
		contentType: []string{ctOllama},
		body: marshalJSON(struct {
			Error string `json:"error"`
		}{msg}),
		header: http.Header{},
	}
}

// ollamaNotFound is gin's answer to a path Ollama does not serve.
var ollamaNotFound = &apiError{
	status:      http.StatusNotFound,
	contentType: []string{"text/plain"},
	body:        []byte("404 page not found"),
	header:      http.Header{},
}

func ollamaModelNotFound(model string) *apiError {
	return ollamaError(http.StatusNotFound, "model '"+model+"' not found")
}

func (e *Emulator) ollamaForced(x *exchange, body []byte) *apiError {
	switch status := x.sw.status; status {
	case http.StatusBadRequest:
		return ollamaError(status, "invalid request")
	case http.StatusUnauthorized:
		return ollamaError(status, "unauthorized")
	case http.StatusForbidden:
		return ollamaError(status, "forbidden")
	case http.StatusNotFound:
		model := modelOf(body)
		if model == "" {
			model = "unknown"
		}
		return ollamaModelNotFound(model)
	case http.StatusTooManyRequests:
		if x.sw.quota {
			return ollamaError(status, "you've reached your usage limit, please upgrade to continue")
		}
		return ollamaError(status, "too many requests")
	case http.StatusInternalServerError:
		return ollamaError(status, "llama runner process has terminated: exit status 2")
	case http.StatusServiceUnavailable:
		return ollamaError(status, "server busy, please try again.  maximum pending requests exceeded")
	default:
		return ollamaError(status, "Emulated error: HTTP "+strconv.Itoa(status)+" "+http.StatusText(status)+".")
	}
}

// ollamaKnows reports whether model is served, with or without its
// ":latest" tag.
func (e *Emulator) ollamaKnows(model string) bool {
	if e.acceptsModel(model) {
		return true
	}
	if base, ok := strings.CutSuffix(model, ":latest"); ok {
		return e.acceptsModel(base)
	}
	return !strings.Contains(model, ":") && e.acceptsModel(model+":latest")
}

func (e *Emulator) serveOllama(x *exchange, body []byte) {
	switch m, p := x.r.Method, x.r.URL.Path; {
	case p == "/api/chat" && m == http.MethodPost:
		e.ollamaChat(x, body)
	case p == "/api/embed" && m == http.MethodPost:
		e.ollamaEmbed(x, body)
	case p == "/api/tags" && (m == http.MethodGet || m == http.MethodHead):
		e.ollamaTags(x)
	case p == "/api/version" && (m == http.MethodGet || m == http.MethodHead):
		e.writeOllama(x, marshalJSON(struct {
			Version string `json:"version"`
		}{ollamaVersion}))
	default:
		x.writeError(ollamaNotFound, "")
	}
}

// writeOllama writes a compact success body.
func (e *Emulator) writeOllama(x *exchange, b []byte) {
	setJSONHeaders(x.w.Header(), ctOllama, len(b))
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}

type ollamaChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools   []chatTool      `json:"tools"`
	Stream  *bool           `json:"stream"`
	Think   json.RawMessage `json:"think"`
	Options *struct {
		NumPredict *int     `json:"num_predict"`
		Stop       []string `json:"stop"`
	} `json:"options"`
}

// Response shapes, fields in the order of Ollama's Go structs.
type (
	ollamaChatResponse struct {
		Model              string        `json:"model"`
		CreatedAt          string        `json:"created_at"`
		Message            ollamaMessage `json:"message"`
		Done               bool          `json:"done"`
		DoneReason         string        `json:"done_reason,omitempty"`
		TotalDuration      int64         `json:"total_duration,omitempty"`
		LoadDuration       int64         `json:"load_duration,omitempty"`
		PromptEvalCount    int           `json:"prompt_eval_count,omitempty"`
		PromptEvalDuration int64         `json:"prompt_eval_duration,omitempty"`
		EvalCount          int           `json:"eval_count,omitempty"`
		EvalDuration       int64         `json:"eval_duration,omitempty"`
	}
	ollamaMessage struct {
		Role      string           `json:"role"`
		Content   string           `json:"content"`
		Thinking  string           `json:"thinking,omitempty"`
		ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	}
	ollamaToolCall struct {
		ID       string `json:"id"`
		Function struct {
			Index     int             `json:"index"`
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	}
)

// unmarshalOptional decodes body into v; an empty body is an empty
// object, as Ollama reads it.
func unmarshalOptional(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

// ollamaThink parses "think": true, false, or an effort level.
func ollamaThink(raw json.RawMessage) (bool, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, ""
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "low", "medium", "high", "max":
			return true, ""
		}
	}
	return false, "invalid think value: " + string(raw) + " (must be \"high\", \"medium\", \"low\", true, or false)"
}

// createdAt is the created_at of the k-th line of an answer.
func (e *Emulator) createdAt(x *exchange, k int) string {
	t := x.start
	if e.opts.Created != 0 {
		t = time.Unix(e.opts.Created, 0)
	}
	return t.Add(time.Duration(k) * 11 * time.Millisecond).UTC().Format(time.RFC3339Nano)
}

// base36 fills n characters of [a-z0-9] from seq, as Ollama's call ids.
func base36(n int, seq uint64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	x := splitmix64(seq)
	for i := range b {
		b[i] = digits[x%36]
		x /= 36
	}
	return string(b)
}

// ollamaChat answers POST /api/chat, streaming unless "stream": false.
func (e *Emulator) ollamaChat(x *exchange, body []byte) {
	var req ollamaChatRequest
	if err := unmarshalOptional(body, &req); err != nil {
		x.writeError(ollamaError(http.StatusBadRequest, err.Error()), "")
		return
	}
	if req.Model == "" {
		x.writeError(ollamaError(http.StatusBadRequest, "model is required"), "")
		return
	}
	think, bad := ollamaThink(req.Think)
	if bad != "" {
		x.writeError(ollamaError(http.StatusBadRequest, bad), "")
		return
	}
	if !e.ollamaKnows(req.Model) {
		x.writeError(ollamaModelNotFound(req.Model), "")
		return
	}
	if len(req.Tools) > 0 && strings.HasPrefix(req.Model, "gemma") {
		name := req.Model
		if !strings.Contains(name, ":") {
			name += ":latest"
		}
		x.writeError(ollamaError(http.StatusBadRequest, "registry.ollama.ai/library/"+name+" does not support tools"), "")
		return
	}
	stream := req.Stream == nil || *req.Stream
	if len(req.Messages) == 0 {
		// An empty chat loads the model.
		b := marshalJSON(ollamaChatResponse{Model: req.Model, CreatedAt: e.createdAt(x, 0),
			Message: ollamaMessage{Role: "assistant"}, Done: true, DoneReason: "load"})
		if stream {
			b = append(b, '\n')
			setJSONHeaders(x.w.Header(), ctNDJSON, -1)
			x.w.WriteHeader(http.StatusOK)
			x.w.Write(b)
			return
		}
		e.writeOllama(x, b)
		return
	}

	in := replyInput{think: think}
	for _, m := range req.Messages {
		in.promptBytes += len(m.Content)
	}
	in.userLast = req.Messages[len(req.Messages)-1].Role == "user"
	for _, t := range req.Tools {
		in.tools = append(in.tools, toolDecl{name: t.Function.Name, schema: t.Function.Parameters})
	}
	if o := req.Options; o != nil {
		if o.NumPredict != nil && *o.NumPredict > 0 {
			in.limit = *o.NumPredict
		}
		in.stops = o.Stop
	}
	r := e.decide(x, in)
	var call ollamaToolCall
	if r.tool != nil {
		call.ID = "call_" + base36(8, x.seq^0x43414c4c)
		call.Function.Name = r.tool.name
		call.Function.Arguments = json.RawMessage(r.args)
	}
	// Ollama's prompt_eval_count counts the evaluated prompt: cached
	// tokens come from the KV cache and are left out.
	final := ollamaChatResponse{
		Model: req.Model, Message: ollamaMessage{Role: "assistant"}, Done: true, DoneReason: "stop",
		LoadDuration:       1_000_000,
		PromptEvalCount:    r.promptTokens,
		PromptEvalDuration: int64(r.promptTokens) * 100_000,
		EvalCount:          r.outputTokens(),
		EvalDuration:       int64(r.outputTokens()) * 10_000_000,
	}
	if r.finish == finishLength {
		final.DoneReason = "length"
	}
	final.TotalDuration = final.LoadDuration + final.PromptEvalDuration + final.EvalDuration + 1_000_000

	if !stream {
		final.CreatedAt = e.createdAt(x, 0)
		final.Message.Content = r.joined()
		final.Message.Thinking = strings.Join(r.thinking, "")
		if r.tool != nil {
			final.Message.ToolCalls = []ollamaToolCall{call}
		}
		e.writeOllama(x, marshalJSON(final))
		return
	}

	s := eventStream{e: e, x: x, failure: fixed(append(ollamaError(http.StatusInternalServerError, ollamaMsgModel).body, '\n'))}
	setJSONHeaders(x.w.Header(), ctNDJSON, -1)
	s.start(http.StatusOK)
	line := func(m ollamaMessage, final bool) bool {
		b := marshalJSON(ollamaChatResponse{Model: req.Model, CreatedAt: e.createdAt(x, s.sent), Message: m})
		return s.send(append(b, '\n'), final)
	}
	for _, p := range r.thinking {
		if !line(ollamaMessage{Role: "assistant", Thinking: p}, false) {
			return
		}
	}
	for _, p := range r.text {
		if !line(ollamaMessage{Role: "assistant", Content: p}, false) {
			return
		}
	}
	if r.tool != nil && !line(ollamaMessage{Role: "assistant", ToolCalls: []ollamaToolCall{call}}, false) {
		return
	}
	final.CreatedAt = e.createdAt(x, s.sent)
	s.send(append(marshalJSON(final), '\n'), true)
}

// ollamaEmbed answers POST /api/embed.
func (e *Emulator) ollamaEmbed(x *exchange, body []byte) {
	var req struct {
		Model      string          `json:"model"`
		Input      json.RawMessage `json:"input"`
		Dimensions int             `json:"dimensions"`
	}
	if err := unmarshalOptional(body, &req); err != nil {
		x.writeError(ollamaError(http.StatusBadRequest, err.Error()), "")
		return
	}
	if req.Model == "" {
		x.writeError(ollamaError(http.StatusBadRequest, "model is required"), "")
		return
	}
	var inputs []string
	if len(req.Input) > 0 && string(req.Input) != "null" {
		var one string
		if json.Unmarshal(req.Input, &one) == nil {
			inputs = []string{one}
		} else if json.Unmarshal(req.Input, &inputs) != nil {
			x.writeError(ollamaError(http.StatusBadRequest, "invalid input type"), "")
			return
		}
	}
	dims := e.opts.Dimensions
	if req.Dimensions != 0 {
		if req.Dimensions < 0 || req.Dimensions > maxDimensions {
			x.writeError(ollamaError(http.StatusBadRequest, "invalid dimensions: "+strconv.Itoa(req.Dimensions)), "")
			return
		}
		dims = req.Dimensions
	}
	if !e.ollamaKnows(req.Model) {
		x.writeError(ollamaModelNotFound(req.Model), "")
		return
	}
	out := struct {
		Model           string      `json:"model"`
		Embeddings      [][]float32 `json:"embeddings"`
		TotalDuration   int64       `json:"total_duration,omitempty"`
		LoadDuration    int64       `json:"load_duration,omitempty"`
		PromptEvalCount int         `json:"prompt_eval_count,omitempty"`
	}{Model: req.Model, Embeddings: [][]float32{}, LoadDuration: 1_000_000}
	for _, in := range inputs {
		v := make([]float32, dims)
		vector(v, []byte(in))
		out.Embeddings = append(out.Embeddings, v)
		out.PromptEvalCount += max(1, len(in)/4)
	}
	out.TotalDuration = out.LoadDuration + int64(out.PromptEvalCount)*100_000
	e.writeOllama(x, marshalJSON(&out))
}

// ollamaTags answers GET /api/tags with Options.Models (or the default
// list), each with deterministic details.
func (e *Emulator) ollamaTags(x *exchange) {
	type details struct {
		ParentModel       string   `json:"parent_model"`
		Format            string   `json:"format"`
		Family            string   `json:"family"`
		Families          []string `json:"families"`
		ParameterSize     string   `json:"parameter_size"`
		QuantizationLevel string   `json:"quantization_level"`
	}
	type model struct {
		Name       string  `json:"name"`
		Model      string  `json:"model"`
		ModifiedAt string  `json:"modified_at"`
		Size       int64   `json:"size"`
		Digest     string  `json:"digest"`
		Details    details `json:"details"`
	}
	names := ollamaDefaultModels
	if e.opts.Models != nil {
		names = e.opts.Models
	}
	created := e.opts.Created
	if created == 0 {
		created = modelCreated
	}
	out := struct {
		Models []model `json:"models"`
	}{Models: []model{}}
	for _, name := range names {
		sum := sha256.Sum256([]byte(name))
		family, _, _ := strings.Cut(name, ":")
		if i := strings.IndexAny(family, "0123456789"); i > 0 {
			family = family[:i]
		}
		size := "7B"
		if _, tag, ok := strings.Cut(name, ":"); ok && strings.HasSuffix(tag, "b") {
			size = strings.ToUpper(tag)
		}
		out.Models = append(out.Models, model{
			Name: name, Model: name,
			ModifiedAt: time.Unix(created, 0).UTC().Format(time.RFC3339Nano),
			Size:       1_000_000_000 + int64(binary.BigEndian.Uint32(sum[:4])),
			Digest:     hex.EncodeToString(sum[:]),
			Details: details{Format: "gguf", Family: family, Families: []string{family},
				ParameterSize: size, QuantizationLevel: "Q4_K_M"},
		})
	}
	e.writeOllama(x, marshalJSON(&out))
}
