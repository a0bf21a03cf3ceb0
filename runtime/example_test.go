package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aignehub/hub/sdk/abi"
)

// Load a plugin, call it, and tell its deliberate errors from its failures.
// (The module here is a tiny hand-assembled provider; a real one is a Go
// plugin built with GOOS=wasip1 -buildmode=c-shared, and Cache would be
// NewCache(<data_dir>/wasm-cache).)
func ExampleLoad() {
	ctx := context.Background()
	p, err := Load(ctx, Options{
		Name:   "mini",
		Wasm:   miniModule(miniManifest),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)

	m := p.Manifest()
	fmt.Println(m.Kind, m.Name, m.Version)

	out, err := p.Request(ctx, &abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`)})
	var pluginErr *abi.Error // the plugin answered with an error: map it to the client
	var callErr *CallError   // the plugin misbehaved: a 502, and the instance was replaced
	switch {
	case errors.As(err, &pluginErr):
		fmt.Println("plugin error", pluginErr.Status)
	case errors.As(err, &callErr):
		fmt.Println("plugin failed:", callErr.Kind)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(out.Method, out.Path)
	}
	// Output:
	// provider mini 1.0.0
	// GET /mini
}
