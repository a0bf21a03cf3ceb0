package aigne

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"

	"github.com/aignehub/hub/host/apierr"
)

// errNotJSON is the 400 for a body that is not one JSON object.
func errNotJSON() *apierr.Error {
	return apierr.BadRequest("", "We could not parse the JSON body of your request. The body must be a JSON object.")
}

// decodeObject decodes a JSON object body into v. A body that is not an
// object, or whose members have the wrong JSON types, is a 400 naming the
// member. Unknown members are ignored, as AIGNE Hub's validators strip them.
func decodeObject(body []byte, v any) *apierr.Error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errNotJSON()
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError maps an encoding/json error to a 400.
func decodeError(err error) *apierr.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return invalidType(te.Field, kindName(te.Type), "a "+te.Value)
	}
	return errNotJSON()
}

// invalidType is the 400 for a member of the wrong JSON type.
func invalidType(param, want, got string) *apierr.Error {
	return apierr.BadRequest(param, "Invalid type for '"+param+"': expected "+want+", but got "+got+" instead.")
}

// kindName names the JSON type a Go type decodes from.
func kindName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// jsonKind names the JSON type of a raw value: "a string", "a number", …
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// at is param[i].
func at(param string, i int) string { return param + "[" + strconv.Itoa(i) + "]" }

// numberIn checks that n, when set, is a number within [lo, hi].
func numberIn(param string, n *float64, lo, hi float64) *apierr.Error {
	if n != nil && (*n < lo || *n > hi) {
		return apierr.BadRequest(param, "Invalid '"+param+"': expected a number between "+
			strconv.FormatFloat(lo, 'g', -1, 64)+" and "+strconv.FormatFloat(hi, 'g', -1, 64)+".")
	}
	return nil
}
