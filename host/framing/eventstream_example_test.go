package framing_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/aignehub/hub/host/framing"
)

// An AWS event-stream (Bedrock ConverseStream) reads as named events; an
// exception message is named after its exception type.
func Example_awsEventStream() {
	var body bytes.Buffer
	enc := eventstream.NewEncoder()
	enc.Encode(&body, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.StringValue("contentBlockDelta")},
		},
		Payload: []byte(`{"contentBlockIndex":0,"delta":{"text":"Hi"}}`),
	})
	enc.Encode(&body, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
			{Name: ":exception-type", Value: eventstream.StringValue("throttlingException")},
		},
		Payload: []byte(`{"message":"Too many requests"}`),
	})
	r, err := framing.New("aws-eventstream", &body, 0)
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
		fmt.Printf("%s %s\n", ev.Name, ev.Data)
	}
	// Output:
	// contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"Hi"}}
	// exception:throttlingException {"message":"Too many requests"}
}
