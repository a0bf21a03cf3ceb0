package runtime

import (
	"slices"

	"github.com/aignehub/hub/sdk/abi"
)

// A tiny WebAssembly encoder for hand-assembled test modules: validation
// cases and a non-Go plugin (no _initialize, no WASI) that load in
// microseconds instead of building a Go module each.

const (
	tI32 byte = 0x7f
	tI64 byte = 0x7e
)

type wasmFunc struct {
	export          string // "" when not exported
	params, results []byte
	body            []byte // instructions, without the final end
}

type wasmImport struct {
	module, name    string
	params, results []byte
}

type wasmData struct {
	offset uint32
	bytes  []byte
}

type wasmModule struct {
	imports  []wasmImport
	funcs    []wasmFunc
	noMemory bool
	data     []wasmData
}

func uleb(dst []byte, v uint64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			dst = append(dst, b|0x80)
			continue
		}
		return append(dst, b)
	}
}

func sleb(dst []byte, v int64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(dst, b)
		}
		dst = append(dst, b|0x80)
	}
}

func name(dst []byte, s string) []byte { return append(uleb(dst, uint64(len(s))), s...) }

func vec(dst []byte, bs []byte) []byte { return append(uleb(dst, uint64(len(bs))), bs...) }

func section(dst []byte, id byte, body []byte) []byte {
	return vec(append(dst, id), body)
}

// Instructions.
func i32Const(v int32) []byte { return sleb([]byte{0x41}, int64(v)) }
func i64Const(v int64) []byte { return sleb([]byte{0x42}, v) }

var (
	opUnreachable = []byte{0x00}
	opLoopForever = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b} // loop br 0 end
)

func (m *wasmModule) encode() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

	var types []byte
	ntypes := 0
	addType := func(params, results []byte) {
		types = append(types, 0x60)
		types = vec(types, params)
		types = vec(types, results)
		ntypes++
	}
	for _, im := range m.imports {
		addType(im.params, im.results)
	}
	for _, f := range m.funcs {
		addType(f.params, f.results)
	}
	out = section(out, 1, append(uleb(nil, uint64(ntypes)), types...))

	if len(m.imports) > 0 {
		imp := uleb(nil, uint64(len(m.imports)))
		for i, im := range m.imports {
			imp = name(imp, im.module)
			imp = name(imp, im.name)
			imp = uleb(append(imp, 0x00), uint64(i))
		}
		out = section(out, 2, imp)
	}

	fs := uleb(nil, uint64(len(m.funcs)))
	for i := range m.funcs {
		fs = uleb(fs, uint64(len(m.imports)+i))
	}
	out = section(out, 3, fs)

	if !m.noMemory {
		out = section(out, 5, []byte{0x01, 0x00, 0x01}) // one memory, min 1 page, no max
	}

	var exps []byte
	nexp := 0
	for i, f := range m.funcs {
		if f.export != "" {
			exps = name(exps, f.export)
			exps = uleb(append(exps, 0x00), uint64(len(m.imports)+i))
			nexp++
		}
	}
	if !m.noMemory {
		exps = name(exps, "memory")
		exps = append(exps, 0x02, 0x00)
		nexp++
	}
	out = section(out, 7, append(uleb(nil, uint64(nexp)), exps...))

	code := uleb(nil, uint64(len(m.funcs)))
	for _, f := range m.funcs {
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, 0x0b)
		code = vec(code, body)
	}
	out = section(out, 10, code)

	if len(m.data) > 0 {
		d := uleb(nil, uint64(len(m.data)))
		for _, seg := range m.data {
			d = append(d, 0x00)
			d = append(d, i32Const(int32(seg.offset))...)
			d = append(d, 0x0b)
			d = vec(d, seg.bytes)
		}
		out = section(out, 11, d)
	}
	return out
}

// Where miniModule keeps its static results.
const (
	miniDescribeAt = 1024
	miniRequestAt  = 8192
	miniResponseAt = 12288
	miniStreamAt   = 16384
	miniAllocAt    = 32768
)

// miniManifest is the manifest of the mini provider.
const miniManifest = `{"abi":1,"kind":"provider","name":"mini","version":"1.0.0"}`

// miniModule is a complete hand-assembled provider plugin: every export
// returns a static result from a data segment; hub_request's RequestOut has
// method GET and path /mini. manifest is what hub_describe returns (as a
// StatusOK record) and edits change the module for validation cases.
func miniModule(manifest string, edits ...func(*wasmModule)) []byte {
	describe := abi.AppendStringField([]byte{abi.StatusOK}, manifest)
	reqOut := abi.RequestOut{Method: "GET", Path: "/mini", Body: []byte("mini body"), State: []byte("st")}
	request := reqOut.Append([]byte{abi.StatusOK})
	respOut := abi.ResponseOut{Body: []byte("ok"), Usage: &abi.Usage{InputTokens: 3, OutputTokens: 4}}
	response := respOut.Append([]byte{abi.StatusOK})
	streamOut := abi.StreamOut{State: []byte("s2"), Chunks: [][]byte{[]byte("c1"), []byte("c2")}, Flags: abi.StreamDone}
	stream := streamOut.Append([]byte{abi.StatusOK})

	packed := func(at uint32, b []byte) []byte { return i64Const(int64(abi.PackResult(at, uint32(len(b))))) }
	m := &wasmModule{
		funcs: []wasmFunc{
			{export: abi.ExportMarker},
			{export: abi.ExportAlloc, params: []byte{tI32}, results: []byte{tI32}, body: i32Const(miniAllocAt)},
			{export: abi.ExportDescribe, results: []byte{tI64}, body: packed(miniDescribeAt, describe)},
			{export: abi.ExportRequest, params: []byte{tI32, tI32}, results: []byte{tI64}, body: packed(miniRequestAt, request)},
			{export: abi.ExportResponse, params: []byte{tI32, tI32}, results: []byte{tI64}, body: packed(miniResponseAt, response)},
			{export: abi.ExportStreamEvent, params: []byte{tI32, tI32}, results: []byte{tI64}, body: packed(miniStreamAt, stream)},
		},
		data: []wasmData{
			{miniDescribeAt, describe},
			{miniRequestAt, request},
			{miniResponseAt, response},
			{miniStreamAt, stream},
		},
	}
	for _, edit := range edits {
		edit(m)
	}
	return m.encode()
}

// withoutExport removes the function exported as export.
func withoutExport(export string) func(*wasmModule) {
	return func(m *wasmModule) {
		m.funcs = slices.DeleteFunc(m.funcs, func(f wasmFunc) bool { return f.export == export })
	}
}

// withFunc adds (or replaces) the function exported as f.export.
func withFunc(f wasmFunc) func(*wasmModule) {
	return func(m *wasmModule) {
		withoutExport(f.export)(m)
		m.funcs = append(m.funcs, f)
	}
}

func withImport(im wasmImport) func(*wasmModule) {
	return func(m *wasmModule) { m.imports = append(m.imports, im) }
}

// withDescribeResult makes hub_describe return res verbatim.
func withDescribeResult(res []byte) func(*wasmModule) {
	return func(m *wasmModule) {
		const at = 40000
		m.data = append(m.data, wasmData{at, res})
		withFunc(wasmFunc{export: abi.ExportDescribe, results: []byte{tI64}, body: i64Const(int64(abi.PackResult(at, uint32(len(res)))))})(m)
	}
}
