package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// serveProxy serves a bare httputil.ReverseProxy to target on addr until
// ctx is done. It is the baseline the hub is compared with: the standard
// library's proxy with a connection pool big enough for the load and
// immediate flushing, so streams pass through as they arrive.
func serveProxy(ctx context.Context, addr, target string, logw io.Writer) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-target: want an absolute URL, got %q", target)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serveProxyOn(ctx, ln, u, logw)
}

// newReverseProxy returns the baseline proxy to target.
func newReverseProxy(target *url.URL, logw io.Writer) *httputil.ReverseProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = 0 // no overall cap; the per-host cap below applies
	tr.MaxIdleConnsPerHost = 256
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(logw, "proxy: ", log.LstdFlags)
	return rp
}

// fullDuplex lets h read the request body after it has started the
// response. Without it the HTTP/1 server drains and closes the unread
// request body when the response headers go out, and the proxy's transport,
// which reads the inbound body once more after copying it (to check its
// length), then fails and drops the upstream connection mid-response: a
// fast upstream cuts a few percent of the streams (golang/go#40747).
func fullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		h.ServeHTTP(w, r)
	})
}

func serveProxyOn(ctx context.Context, ln net.Listener, target *url.URL, logw io.Writer) error {
	srv := &http.Server{
		Handler:           fullDuplex(newReverseProxy(target, logw)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logw, "proxy: ", log.LstdFlags),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close() // the grace period is over: cut what is left
	}
	return nil
}
