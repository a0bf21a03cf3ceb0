package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// Export file names.
const (
	usageCSVName = "usage.csv"
	callsCSVName = "calls.csv"
)

// usageParams and callsParams are the query parameters of the usage and
// calls listings, for both APIs.
var (
	usageParams = []string{"bucket", "since", "until", "account_id", "key_id", "provider", "model", "group_by", "format"}
	callsParams = []string{"since", "until", "account_id", "key_id", "provider", "model", "status", "limit", "before", "format"}
)

// wantsCSV reads the format parameter: "json" (the default) or "csv".
func wantsCSV(q url.Values) (bool, error) {
	switch f := q.Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, apierr.BadRequest("format", fmt.Sprintf("format must be json or csv; got %q.", f))
	}
}

// usageFilter reads the usage listing's filter from q.
func usageFilter(q url.Values) (store.StatsFilter, error) {
	f := store.StatsFilter{Bucket: q.Get("bucket"), Provider: q.Get("provider"), Model: q.Get("model")}
	if err := timeParams(q, map[string]*time.Time{"since": &f.Since, "until": &f.Until}); err != nil {
		return f, err
	}
	var err error
	if f.AccountID, err = positiveParam(q, "account_id"); err != nil {
		return f, err
	}
	if f.KeyID, err = positiveParam(q, "key_id"); err != nil {
		return f, err
	}
	for d := range strings.SplitSeq(q.Get("group_by"), ",") {
		if d = strings.TrimSpace(d); d != "" {
			f.GroupBy = append(f.GroupBy, d)
		}
	}
	return f, nil
}

// callFilter reads the calls listing's filter and cursor from q.
func callFilter(q url.Values) (store.CallFilter, manage.CallCursor, error) {
	f := store.CallFilter{Provider: q.Get("provider"), Model: q.Get("model"), Status: q.Get("status")}
	if err := timeParams(q, map[string]*time.Time{"since": &f.Since, "until": &f.Until}); err != nil {
		return f, manage.CallCursor{}, err
	}
	var err error
	if f.AccountID, err = positiveParam(q, "account_id"); err != nil {
		return f, manage.CallCursor{}, err
	}
	if f.KeyID, err = positiveParam(q, "key_id"); err != nil {
		return f, manage.CallCursor{}, err
	}
	limit, err := positiveParam(q, "limit")
	if err != nil {
		return f, manage.CallCursor{}, err
	}
	f.Limit = int(min(limit, manage.MaxCallsLimit))
	cur, err := manage.ParseCallCursor(q.Get("before"))
	return f, cur, err
}

// usageResult answers a usage listing: {"data":[row]} or CSV. own, when
// not nil, is the caller of the user API: the listing is of its account
// only.
func usageResult(r *http.Request, m *manage.Service, own *store.APIKey) (result, error) {
	q, err := query(r, usageParams...)
	if err != nil {
		return result{}, err
	}
	csv, err := wantsCSV(q)
	if err != nil {
		return result{}, err
	}
	f, err := usageFilter(q)
	if err != nil {
		return result{}, err
	}
	if own != nil {
		if err := ownAccount(*own, f.AccountID); err != nil {
			return result{}, err
		}
		f.AccountID = own.AccountID
	}
	if csv {
		return result{csv: func(w io.Writer) error { return m.WriteUsageCSV(r.Context(), w, f) }, filename: usageCSVName}, nil
	}
	return listOf(m.Usage(r.Context(), f))
}

// callsResult answers a calls listing: {"data":[call],"next_before":…}
// or CSV (every matching call unless limit is given). own, when not nil,
// limits it to that key's account (see usageResult); view, if not nil,
// changes each call before it is shown.
func callsResult(r *http.Request, m *manage.Service, own *store.APIKey, view func(*manage.CallView)) (result, error) {
	q, err := query(r, callsParams...)
	if err != nil {
		return result{}, err
	}
	csv, err := wantsCSV(q)
	if err != nil {
		return result{}, err
	}
	f, cur, err := callFilter(q)
	if err != nil {
		return result{}, err
	}
	if own != nil {
		if err := ownAccount(*own, f.AccountID); err != nil {
			return result{}, err
		}
		f.AccountID = own.AccountID
	}
	if csv {
		if cur != (manage.CallCursor{}) {
			return result{}, apierr.BadRequest("before", "before pages the JSON listing; a CSV export takes since and until.")
		}
		return result{csv: func(w io.Writer) error { return m.WriteCallsCSV(r.Context(), w, f) }, filename: callsCSVName}, nil
	}
	page, err := m.CallsPage(r.Context(), f, cur)
	if err != nil {
		return result{}, err
	}
	if view != nil {
		for i := range page.Data {
			view(&page.Data[i])
		}
	}
	return okJSON(page)
}

func (h *Handler) usage(r *http.Request, _ httprouter.Params) (result, error) {
	return usageResult(r, h.opts.Manage, nil)
}

func (h *Handler) calls(r *http.Request, _ httprouter.Params) (result, error) {
	return callsResult(r, h.opts.Manage, nil, nil)
}

func (h *Handler) call(r *http.Request, ps httprouter.Params) (result, error) {
	return one(h.findCall(r.Context(), ps.ByName("request_id")))
}
