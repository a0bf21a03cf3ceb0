package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	cfgPath := configFlag(fs)
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback `address` (off when empty)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "hub serve: unexpected argument %q\nusage: hub serve [-config FILE] [-pprof ADDR]\n", pos[0])
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	slog.SetDefault(logger)

	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, logger); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	hub, err := app.New(ctx, app.Options{Config: cfg, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		hub.Shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("hub listening", "addr", ln.Addr().String(), "version", version, "data_dir", cfg.DataDir)
	errc := make(chan error, 1)
	go func() { errc <- hub.Serve(ln) }()
	reloadOnHangup(ctx, hub, logger)

	select {
	case err := <-errc:
		hub.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the default way
	grace := cfg.Limits.ShutdownGrace.Std()
	logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hub.Shutdown(sctx); err != nil {
		return err
	}
	<-errc
	logger.Info("stopped")
	return nil
}

// reloadOnHangup makes SIGHUP reload every plugin whose module or
// [plugins.NAME] settings changed (see app.Hub.ReloadChanged), until ctx
// ends. Each outcome is logged by the hub; this logs the summary.
func reloadOnHangup(ctx context.Context, hub *app.Hub, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			logger.Info("SIGHUP: reloading changed plugins")
			failed := 0
			results := hub.ReloadChanged(ctx)
			for _, r := range results {
				if !r.OK {
					failed++
				}
			}
			logger.Info("SIGHUP: plugin reload done", "reloaded", len(results)-failed, "failed", failed)
		}
	}()
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// servePprof serves the profiling endpoints on a separate loopback listener,
// never on the API listener.
func servePprof(addr string, logger *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-pprof: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-pprof: %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Info("pprof listening", "addr", ln.Addr().String())
	go http.Serve(ln, mux)
	return nil
}
