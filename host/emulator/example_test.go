package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aignehub/hub/host/emulator"
)

// A test serves the emulator over loopback and points its OpenAI client at
// srv.URL + "/v1". Here a bare HTTP request stands in for that client.
func Example() {
	emu := emulator.New(emulator.Options{Answer: "Bonjour à tous !", Chunks: 3, Record: true})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French."}]}`))
	req.Header.Set("Authorization", "Bearer sk-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println(resp.StatusCode, out.Choices[0].Message.Content)
	fmt.Println("tokens:", out.Usage.PromptTokens, out.Usage.CompletionTokens)

	// The emulator kept the request, key included.
	fmt.Println(emu.Requests()[0].Header.Get("Authorization"))
	// Output:
	// 200 Bonjour à tous
	// tokens: 5 3
	// Bearer sk-test
}

// A switch header makes one request fail the way a test needs.
func Example_switches() {
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set(emulator.HeaderStatus, "429")
	req.Header.Set(emulator.HeaderRetryAfter, "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), out.Error.Code)
	// Output:
	// 429 2 rate_limit_exceeded
}
