// Command emulator serves the provider emulator of package host/emulator
// over HTTP, so the hub (or any provider client) can be run and benchmarked
// without a network:
//
//	go run ./cmd/emulator -listen 127.0.0.1:8081
//
// and point a provider's base URL at it: http://127.0.0.1:8081/v1 for
// OpenAI and the OpenAI-compatible providers, http://127.0.0.1:8081 for
// Anthropic, Gemini (/v1beta), Ollama (/api), Bedrock (/model) and
// Ideogram. The flags set the instance-wide defaults; X-Emulator-* request
// headers override them per request (see the package documentation of
// host/emulator).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

// shutdownGrace is how long in-flight streams get to finish on shutdown.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. It logs to
// logw and, when onListen is set, reports the bound address (which tests
// use with -listen 127.0.0.1:0).
func run(ctx context.Context, args []string, logw io.Writer, onListen func(net.Addr)) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(logw)
	var (
		listen     = fs.String("listen", "127.0.0.1:8081", "address to listen on")
		latency    = fs.Duration("latency", 0, "delay before the response headers")
		chunks     = fs.Int("chunks", 5, "content chunks per stream / words per answer")
		pace       = fs.Duration("pace", 0, "delay between two stream events")
		models     = fs.String("models", "", "comma-separated model ids to list and accept (default: list "+strings.Join(emulator.DefaultModels, ",")+", accept any not starting with \"unknown\")")
		apiKey     = fs.String("api-key", "", "the only bearer token accepted (default: any non-empty token)")
		dimensions = fs.Int("dimensions", 8, "embedding dimensions when a request sets none")
		cached     = fs.Int("cached", 0, "cached prompt tokens every answer reports")
		reasoning  = fs.String("reasoning-field", "reasoning_content", "reasoning field of OpenAI-compatible answers: reasoning_content (DeepSeek) or reasoning (OpenRouter)")
		awsKeyID   = fs.String("aws-access-key-id", emulator.DefaultAWSAccessKeyID, "the access key id whose SigV4 signatures Bedrock requests must carry")
		awsSecret  = fs.String("aws-secret-access-key", emulator.DefaultAWSSecretAccessKey, "the secret access key Bedrock signatures are checked with")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("parse flags: unexpected arguments %q", fs.Args())
	}
	if *cached < 0 {
		return fmt.Errorf("parse flags: -cached must not be negative")
	}
	if *reasoning != "reasoning_content" && *reasoning != "reasoning" {
		return fmt.Errorf("parse flags: -reasoning-field must be reasoning_content or reasoning, not %q", *reasoning)
	}
	opts := emulator.Options{
		APIKey:             *apiKey,
		Chunks:             *chunks,
		Latency:            *latency,
		Pace:               *pace,
		Dimensions:         *dimensions,
		Cached:             *cached,
		ReasoningField:     *reasoning,
		AWSAccessKeyID:     *awsKeyID,
		AWSSecretAccessKey: *awsSecret,
		// Record stays off: nothing reads a standalone emulator's records.
	}
	if *models != "" {
		for _, m := range strings.Split(*models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				opts.Models = append(opts.Models, m)
			}
		}
	}
	emu := emulator.New(opts)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger := log.New(logw, "", log.LstdFlags)
	srv := &http.Server{
		Handler:           emu,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	logger.Printf("emulator: serving the OpenAI API at http://%s/v1 and Anthropic, Gemini, Ollama, Bedrock and Ideogram at http://%s (chunks=%d latency=%s pace=%s)", ln.Addr(), ln.Addr(), *chunks, *latency, *pace)
	if onListen != nil {
		onListen(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	// Release hung requests, then stop accepting and drain the streams in
	// flight for up to the grace period; cut what is left.
	emu.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Printf("emulator: stopped")
	return nil
}
