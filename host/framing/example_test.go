package framing_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aignehub/hub/host/framing"
)

// Events come out whole, whatever the line ends; comments and events
// without data are dropped.
func Example() {
	body := strings.NewReader("event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n" +
		": keep-alive\n\n" +
		"data: first line\ndata:  second line\n\n" +
		"data: [DONE]\n\n")
	r, err := framing.New("sse", body, 0)
	if err != nil {
		panic(err)
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%q %q\n", ev.Name, ev.Data)
	}
	// Output:
	// "message_start" "{\"type\":\"message_start\"}"
	// "" "first line\n second line"
	// "" "[DONE]"
}

// A stream cut inside an event ends with ErrTruncated, not io.EOF.
func Example_truncated() {
	r := framing.NewSSE(strings.NewReader("data: {\"a\":1}\n\ndata: {\"b\":"), 0)
	for {
		ev, err := r.Next()
		if err != nil {
			fmt.Println(errors.Is(err, framing.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF))
			break
		}
		fmt.Printf("%s\n", ev.Data)
	}
	// Output:
	// {"a":1}
	// true true
}

func ExampleNewNDJSON() {
	r := framing.NewNDJSON(strings.NewReader("{\"done\":false}\r\n\n{\"done\":true}"), 0)
	for {
		ev, err := r.Next()
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%s\n", ev.Data)
	}
	// Output:
	// {"done":false}
	// {"done":true}
	// EOF
}

func ExampleAppendSSE() {
	var out []byte
	out = framing.AppendSSE(out, "content_block_delta", []byte(`{"type":"content_block_delta"}`))
	out = framing.AppendSSE(out, "", []byte("two\nlines"))
	fmt.Print(string(out))
	// Output:
	// event: content_block_delta
	// data: {"type":"content_block_delta"}
	//
	// data: two
	// data: lines
	//
}
