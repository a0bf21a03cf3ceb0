package runtime

import (
	"context"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

func TestLoadValidation(t *testing.T) {
	errResult := abi.AppendStringField([]byte{abi.StatusError}, `{"status":500,"message":"no manifest today"}`)
	tests := []struct {
		name string
		wasm []byte
		want string // the whole error must contain this
	}{
		{
			name: "forbidden import module",
			wasm: miniModule(miniManifest, withImport(wasmImport{module: "env", name: "evil"})),
			want: `load plugin "bad": import "env"."evil" not allowed (allowed modules: hub_v1, wasi_snapshot_preview1)`,
		},
		{
			name: "unknown hub_v1 function",
			wasm: miniModule(miniManifest, withImport(wasmImport{module: "hub_v1", name: "clock", results: []byte{tI64}})),
			want: `import "hub_v1"."clock" is not provided by the host`,
		},
		{
			name: "hub_v1 function with the wrong signature",
			wasm: miniModule(miniManifest, withImport(wasmImport{module: "hub_v1", name: "log", params: []byte{tI32, tI32}})),
			want: `import "hub_v1"."log" has signature (i32,i32)->(), want (i32,i32,i32)->()`,
		},
		{
			name: "unknown WASI function",
			wasm: miniModule(miniManifest, withImport(wasmImport{module: "wasi_snapshot_preview1", name: "open_the_pod_bay_doors"})),
			want: `import "wasi_snapshot_preview1"."open_the_pod_bay_doors" is not provided by the host`,
		},
		{
			name: "missing marker",
			wasm: miniModule(miniManifest, withoutExport(abi.ExportMarker)),
			want: `missing export "hub_abi_v1": not a hub plugin, or built for another ABI`,
		},
		{
			name: "other ABI marker",
			wasm: miniModule(miniManifest, withoutExport(abi.ExportMarker), withFunc(wasmFunc{export: "hub_abi_v2"})),
			want: `missing export "hub_abi_v1": the module declares hub_abi_v2, which this host does not support`,
		},
		{
			name: "missing allocator",
			wasm: miniModule(miniManifest, withoutExport(abi.ExportAlloc)),
			want: `missing export "hub_alloc" (i32)->(i32)`,
		},
		{
			name: "describe with the wrong signature",
			wasm: miniModule(miniManifest, withFunc(wasmFunc{export: abi.ExportDescribe, results: []byte{tI32}, body: i32Const(0)})),
			want: `export "hub_describe" has signature ()->(i32), want ()->(i64)`,
		},
		{
			name: "request with the wrong signature",
			wasm: miniModule(miniManifest, withFunc(wasmFunc{export: abi.ExportRequest, params: []byte{tI32}, results: []byte{tI64}, body: i64Const(0)})),
			want: `export "hub_request" has signature (i32)->(i64), want (i32,i32)->(i64)`,
		},
		{
			name: "no memory export",
			wasm: miniModule(miniManifest, func(m *wasmModule) { m.noMemory = true; m.data = nil }),
			want: `missing export "memory"`,
		},
		{
			name: "several problems at once",
			wasm: miniModule(miniManifest, withoutExport(abi.ExportAlloc), withImport(wasmImport{module: "env", name: "evil"})),
			want: `import "env"."evil" not allowed (allowed modules: hub_v1, wasi_snapshot_preview1); missing export "hub_alloc" (i32)->(i32)`,
		},
		{
			name: "describe declares another ABI",
			wasm: miniModule(`{"abi":2,"kind":"provider","name":"mini"}`),
			want: `load plugin "bad": manifest declares abi 2, want 1`,
		},
		{
			name: "describe declares an unknown kind",
			wasm: miniModule(`{"abi":1,"kind":"weird","name":"mini"}`),
			want: `manifest declares unknown kind "weird" (known: provider, billing)`,
		},
		{
			name: "provider without its exports",
			wasm: miniModule(miniManifest, withoutExport(abi.ExportStreamEvent), withoutExport(abi.ExportResponse)),
			want: `kind "provider" requires export "hub_response" (i32,i32)->(i64); kind "provider" requires export "hub_stream_event" (i32,i32)->(i64)`,
		},
		{
			name: "billing without its exports",
			wasm: miniModule(`{"abi":1,"kind":"billing","name":"mini"}`),
			want: `kind "billing" requires export "hub_quote" (i32,i32)->(i64); kind "billing" requires export "hub_settle" (i32,i32)->(i64)`,
		},
		{
			name: "settle with the wrong signature",
			wasm: miniModule(miniManifest, withFunc(wasmFunc{export: abi.ExportSettle, params: []byte{tI32, tI32}, results: []byte{tI32}, body: i32Const(0)})),
			want: `export "hub_settle" has signature (i32,i32)->(i32), want (i32,i32)->(i64)`,
		},
		{
			name: "manifest is not JSON",
			wasm: miniModule(`{"abi":1,`),
			want: `load plugin "bad": hub_describe: malformed result: decode result record: manifest is not valid JSON`,
		},
		{
			name: "describe returns an error",
			wasm: miniModule(miniManifest, withDescribeResult(errResult)),
			want: `hub_describe returned an error: no manifest today`,
		},
		{
			name: "describe returns an unknown status",
			wasm: miniModule(miniManifest, withDescribeResult([]byte{9})),
			want: `load plugin "bad": hub_describe: malformed result: unknown result status 9`,
		},
		{
			name: "_initialize traps",
			wasm: miniModule(miniManifest, withFunc(wasmFunc{export: "_initialize", body: opUnreachable})),
			want: `load plugin "bad": instantiate: _initialize: trap: module[] function[_initialize] failed: wasm error: unreachable`,
		},
		{
			name: "not wasm",
			wasm: []byte("#!/bin/sh\necho hi\n"),
			want: `load plugin "bad": compile: `,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(context.Background(), Options{Name: "bad", Wasm: tt.wasm, Logger: quiet})
			if err == nil {
				p.Close(context.Background())
				t.Fatalf("Load succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error:\n  %v\nwant it to contain:\n  %s", err, tt.want)
			}
		})
	}
}

func TestLoadOptionsValidation(t *testing.T) {
	_, err := Load(context.Background(), Options{Config: []byte("{nope"), PoolSize: 2, MinIdle: 3, MemoryLimit: 100})
	want := `load plugin "": Options.Name is empty; Options.Wasm is empty; Options.Config is not valid JSON; ` +
		`Options.MemoryLimit 100 is below one 64 KiB page; Options.MinIdle 3 is above PoolSize 2`
	if err == nil || err.Error() != want {
		t.Fatalf("Load error:\n  %v\nwant:\n  %s", err, want)
	}
}

// TestMiniPlugin loads a hand-assembled, non-Go plugin: no _initialize, no
// WASI, static results. It checks that such modules work and that every
// typed call decodes its record.
func TestMiniPlugin(t *testing.T) {
	ctx := context.Background()
	p, err := Load(ctx, Options{Name: "mini", Wasm: miniModule(miniManifest), Logger: quiet, MinIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	if m := p.Manifest(); m.Name != "mini" || m.Kind != abi.KindProvider || m.Version != "1.0.0" {
		t.Errorf("Manifest() = %+v", m)
	}
	if len(p.SHA256()) != 64 {
		t.Errorf("SHA256() = %q", p.SHA256())
	}
	if st := p.Stats(); st.Instances != 2 || st.Idle != 2 {
		t.Errorf("after Load with MinIdle 2: %+v", st)
	}

	req, err := p.Request(ctx, &abi.RequestIn{Model: "m", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "GET" || req.Path != "/mini" || string(req.Body) != "mini body" || string(req.State) != "st" {
		t.Errorf("Request = %+v", req)
	}
	resp, err := p.Response(ctx, &abi.ResponseIn{Status: 200})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || resp.Usage == nil || resp.Usage.InputTokens != 3 || resp.Usage.OutputTokens != 4 {
		t.Errorf("Response = %+v", resp)
	}
	ev, err := p.StreamEvent(ctx, &abi.StreamIn{Events: []abi.Event{{Data: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.State) != "s2" || len(ev.Chunks) != 2 || string(ev.Chunks[1]) != "c2" || ev.Flags != abi.StreamDone {
		t.Errorf("StreamEvent = %+v", ev)
	}

	if _, err := p.Call(ctx, "hub_nothing", nil); err == nil || !strings.Contains(err.Error(), `no export "hub_nothing" (i32,i32)->(i64)`) {
		t.Errorf("Call(hub_nothing) error = %v", err)
	}
	if _, err := p.Call(ctx, abi.ExportAlloc, nil); err == nil {
		t.Error("Call(hub_alloc) succeeded; only (ptr,len)->packed exports may be called")
	}
	if st := p.Stats(); st.Calls != 3 || st.Failures != 0 || st.InFlight != 0 || st.Instances != 2 {
		t.Errorf("Stats = %+v", st)
	}
}
