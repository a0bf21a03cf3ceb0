package framing

import "bytes"

// AppendSSE appends one SSE event to dst and returns the extended slice:
// "event: <event>\n" when event is not empty, then "data: <line>\n" for each
// line of data, then the blank line "\n" that dispatches it. Empty data is
// one empty data line, so the event is still delivered (with empty data).
//
// SSE cannot carry a CR inside a value, so a "\r\n" or lone "\r" in data
// ends a line like "\n" does: a reader sees it as "\n". event must not
// contain CR or LF.
func AppendSSE(dst []byte, event string, data []byte) []byte {
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	lf := bytes.IndexByte(data, '\n') // -1: none in data
	for {
		end := len(data)
		if lf >= 0 {
			end = lf
		}
		if cr := bytes.IndexByte(data[:end], '\r'); cr >= 0 {
			end = cr
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:end]...)
		dst = append(dst, '\n')
		if end == len(data) {
			return append(dst, '\n')
		}
		next := end + 1
		if data[end] == '\r' && next < len(data) && data[next] == '\n' {
			next++
		}
		data = data[next:]
		if lf >= 0 {
			if lf -= next; lf < 0 {
				lf = bytes.IndexByte(data, '\n')
			}
		}
	}
}
