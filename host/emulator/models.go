package emulator

import (
	"net/http"
	"strconv"
)

// appendModelList renders the GET /v1/models body.
func (e *Emulator) appendModelList(b []byte) []byte {
	b = append(b, "{\n  \"object\": \"list\",\n  \"data\": ["...)
	for i, m := range e.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = e.appendModel(b, m, "    ")
	}
	if len(e.models) > 0 {
		b = append(b, "\n  "...)
	}
	return append(b, "]\n}\n"...)
}

// appendModel renders one model object whose closing brace is indented by
// indent.
func (e *Emulator) appendModel(b []byte, id, indent string) []byte {
	created := e.opts.Created
	if created == 0 {
		created = modelCreated
	}
	b = append(b, "{\n"...)
	b = append(b, indent...)
	b = append(b, "  \"id\": "...)
	b = appendJSONString(b, id)
	b = append(b, ",\n"...)
	b = append(b, indent...)
	b = append(b, "  \"object\": \"model\",\n"...)
	b = append(b, indent...)
	b = append(b, "  \"created\": "...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, ",\n"...)
	b = append(b, indent...)
	b = append(b, "  \"owned_by\": \"system\"\n"...)
	b = append(b, indent...)
	return append(b, '}')
}

// serveModel answers GET /v1/models/{id}.
func (e *Emulator) serveModel(x *exchange, id string) {
	listed := false
	for _, m := range e.models {
		if m == id {
			listed = true
			break
		}
	}
	if !listed && !e.acceptsModel(id) {
		x.writeError(errModelNotFound(id), "")
		return
	}
	body := append(e.appendModel(nil, id, ""), '\n')
	x.setSuccessHeaders(ctJSON, len(body))
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, body)
}
