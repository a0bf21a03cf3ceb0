package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/manage"
)

// FuzzDecode feeds request bodies to decode: it never panics, fails only
// with a 400 (or 413) *apierr.Error, and what it accepts is one JSON
// object of known fields, which survives a round trip.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"oa-1","secret":"sk-abc","weight":3,"enabled":true}`,
		`{"secret":"env:OPENAI_API_KEY"}`,
		`{}`, ` {"weight": 1} `, `{"weight":1}{}`, `{"weight":1.5}`, `{"secret":1}`, `{"bogus":1}`,
		`[]`, `null`, ``, `{`, `{"name":"a",}`, "\xff", `{"name":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/admin/x", bytes.NewReader(body))
		var spec manage.CredentialSpec
		err := decode(r, &spec)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || (ae.Status != 400 && ae.Status != 413) || ae.Message == "" {
				t.Fatalf("decode(%q) = %v, want a 400 *apierr.Error", body, err)
			}
			return
		}
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			panic("accepted a body that is not an object")
		}
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		var again manage.CredentialSpec
		if err := decode(httptest.NewRequest("POST", "/", bytes.NewReader(b)), &again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
	})
}
