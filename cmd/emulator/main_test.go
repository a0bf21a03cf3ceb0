package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// syncBuffer is a log sink safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-chunks", "3", "-models", "gpt-4o, text-embedding-3-small"}, &logs, func(a net.Addr) { addrc <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	base := "http://" + addr.String() + "/v1"

	req, _ := http.NewRequest(http.MethodPost, base+"/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"completion_tokens": 3`) {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}

	// A hung request must not hold up the shutdown.
	hung := make(chan struct{})
	go func() {
		defer close(hung)
		req, _ := http.NewRequest(http.MethodGet, base+"/models", nil)
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("X-Emulator-Hang", "1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	<-hung
	if n := strings.Count(logs.String(), "serving the OpenAI API at http://"+addr.String()+"/v1"); n != 1 {
		t.Errorf("start line logged %d times:\n%s", n, logs.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-latency", "soon"}, {"extra"}, {"-listen", "256.0.0.1:99999"}, {"-cached", "-1"}, {"-reasoning-field", "thoughts"}} {
		if err := run(context.Background(), args, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestRunProviderFlags checks the flags of the non-OpenAI providers reach
// the emulator: cached tokens, the reasoning field and the Bedrock
// credentials.
func TestRunProviderFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-cached", "7", "-reasoning-field", "reasoning",
			"-aws-access-key-id", "AKIDFLAG", "-aws-secret-access-key", "flag-secret"}, io.Discard, func(a net.Addr) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	post := func(path, body string, sign bool, headers ...string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		if sign {
			sum := sha256.Sum256([]byte(body))
			creds := aws.Credentials{AccessKeyID: "AKIDFLAG", SecretAccessKey: "flag-secret"}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "bedrock", "us-west-2", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if got := post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`, false,
		"X-Api-Key", "k", "Anthropic-Version", "2023-06-01"); !strings.Contains(got, `"cache_read_input_tokens":7`) {
		t.Errorf("anthropic: %s", got)
	}
	if got := post("/v1/chat/completions", `{"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}]}`, false,
		"Authorization", "Bearer k"); !strings.Contains(got, `"reasoning": "`) {
		t.Errorf("reasoning field: %s", got)
	}
	if got := post("/model/amazon.nova-lite-v1%3A0/converse", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, true); !strings.Contains(got, `"cacheReadInputTokens":7`) {
		t.Errorf("bedrock: %s", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
