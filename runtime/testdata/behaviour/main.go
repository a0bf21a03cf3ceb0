//go:build wasip1

// Command behaviour is a test plugin for package runtime. Its hub_request
// dispatches on RequestIn.Model to a well-behaved or hostile behaviour, so one
// module (built once per test binary) covers every failure mode the host must
// survive. It is written directly against sdk/abi, without the provider SDK,
// so that panics are not recovered into error results.
package main

import (
	goruntime "runtime"
	"syscall"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
)

func main() {}

//go:wasmimport hub_v1 log
func hostLog(level uint32, ptr unsafe.Pointer, size uint32)

//go:wasmimport hub_v1 config
func hostConfig(ptr unsafe.Pointer, capacity uint32) uint32

var (
	inBuf  []byte
	out    []byte
	keep   [][]byte // "grow" and "bomb" retain memory here
	spin   uint64   // "loop" writes here so the loop is not optimized away
	sink   int32
	manife = `{"abi":1,"kind":"provider","name":"behaviour","version":"0.0.1","apis":["chat.completions"],"auth":"bearer","stream_framing":"sse"}`
)

//go:wasmexport hub_abi_v1
func hubABIv1() {}

//go:wasmexport hub_alloc
func hubAlloc(size uint32) uint32 {
	if uint32(cap(inBuf)) < size {
		inBuf = make([]byte, size)
	}
	inBuf = inBuf[:size]
	if size == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&inBuf[0])))
}

//go:wasmexport hub_describe
func hubDescribe() uint64 {
	out = abi.AppendStringField(append(out[:0], abi.StatusOK), manife)
	return finish(out)
}

//go:wasmexport hub_request
func hubRequest(ptr, size uint32) uint64 {
	var in abi.RequestIn
	if err := in.Parse(inBuf[:size]); err != nil {
		return finish(fail(400, "bad input"))
	}
	switch in.Model {
	case "echo":
		// Copy the body so every call allocates: this is what makes the
		// heap grow without bound when the GC cannot make progress.
		body := append([]byte(nil), in.Body...)
		return finish(requestOut(body))
	case "loop":
		for {
			spin++
		}
	case "bomb":
		// Runs out of memory: Go prints "fatal error: out of memory" and
		// aborts.
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "panic":
		// Go's runtime prints the panic to stderr and aborts, which is an
		// unreachable trap.
		panic("behaviour: guest panic")
	case "exit":
		syscall.Exit(3)
	case "trap":
		// An address past the end of linear memory (at most 4 GiB minus a
		// page, and the host's limit is far lower): the load traps.
		sink = *(*int32)(unsafe.Add(unsafe.Pointer(&sink), 0xf0000000))
		return finish(requestOut(nil))
	case "big":
		n := 2 << 20
		if len(in.Body) > 0 {
			n = int(parseUint(in.Body))
		}
		return finish(requestOut(make([]byte, n)))
	case "abierr":
		return finish(fail(429, "slow down"))
	case "log":
		logMsg(abi.LogWarn, in.Body)
		return finish(requestOut(in.Body))
	case "logflood":
		for i := 0; i < 1000; i++ {
			logMsg(abi.LogInfo, in.Body)
		}
		return finish(requestOut(nil))
	case "config":
		// Start with a tiny buffer to exercise the call-again protocol.
		buf := make([]byte, 4)
		n := hostConfig(unsafe.Pointer(&buf[0]), uint32(len(buf)))
		if int(n) > len(buf) {
			buf = make([]byte, n)
			n = hostConfig(unsafe.Pointer(&buf[0]), n)
		}
		return finish(requestOut(buf[:n]))
	case "grow":
		keep = append(keep, make([]byte, 40<<20))
		return finish(requestOut(nil))
	case "badresult":
		goruntime.Gosched()
		return abi.PackResult(0xffffff00, 100)
	case "badstatus":
		out = append(out[:0], 7)
		return finish(out)
	}
	return finish(fail(400, "unknown behaviour "+in.Model))
}

//go:wasmexport hub_response
func hubResponse(ptr, size uint32) uint64 {
	var in abi.ResponseIn
	if err := in.Parse(inBuf[:size]); err != nil {
		return finish(fail(400, "bad input"))
	}
	if in.Status >= 400 {
		return finish(fail(int(in.Status), "upstream error"))
	}
	r := abi.ResponseOut{Body: in.Body, Usage: &abi.Usage{InputTokens: 1, OutputTokens: 2}}
	out = r.Append(append(out[:0], abi.StatusOK))
	return finish(out)
}

//go:wasmexport hub_stream_event
func hubStreamEvent(ptr, size uint32) uint64 {
	var in abi.StreamIn
	if err := in.Parse(inBuf[:size]); err != nil {
		return finish(fail(400, "bad input"))
	}
	s := abi.StreamOut{State: append(in.State, '!')}
	for _, ev := range in.Events {
		s.Chunks = append(s.Chunks, ev.Data)
		if string(ev.Name) == "done" {
			s.Flags = abi.StreamDone
		}
	}
	out = s.Append(append(out[:0], abi.StatusOK))
	return finish(out)
}

func requestOut(body []byte) []byte {
	r := abi.RequestOut{Method: "POST", Path: "/echo", Headers: []abi.Header{{Name: "X-Test", Value: "1"}}, Body: body, State: []byte("s")}
	out = r.Append(append(out[:0], abi.StatusOK))
	return out
}

func fail(status int, msg string) []byte {
	retry := "false"
	if status == 429 {
		retry = "true"
	}
	js := `{"status":` + itoa(status) + `,"type":"test_error","message":"` + msg + `","retryable":` + retry + `}`
	out = abi.AppendStringField(append(out[:0], abi.StatusError), js)
	return out
}

func logMsg(level uint32, msg []byte) {
	if len(msg) == 0 {
		msg = []byte("hello from guest")
	}
	hostLog(level, unsafe.Pointer(&msg[0]), uint32(len(msg)))
}

// finish ends every export: it yields so the Go garbage collector makes
// progress (see DESIGN.md), then packs the result.
func finish(res []byte) uint64 {
	goruntime.Gosched()
	if len(res) == 0 {
		return 0
	}
	return abi.PackResult(uint32(uintptr(unsafe.Pointer(&res[0]))), uint32(len(res)))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func parseUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
