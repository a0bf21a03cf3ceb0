package admin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// The paths of the user API.
const (
	UserUsagePath   = "/api/usage"
	UserCallsPath   = "/api/calls"
	UserAccountPath = "/api/account"
)

// UserPaths returns the paths the user API ([NewUser]) serves, for the
// hub's server to mount, every method on each (other methods answer 405).
func UserPaths() []string {
	return []string{UserUsagePath, UserCallsPath, UserAccountPath, UserCallPath, UserKeysPath, UserKeyPath}
}

// userHandler serves the user API.
type userHandler struct {
	core
	routes []route
}

// NewUser returns the handler of the user API: what any valid API key,
// user or admin, may read about its own account.
//
//	GET /api/usage    usage statistics, the parameters of GET /api/admin/usage
//	GET /api/calls    the call log, the parameters of GET /api/admin/calls
//	GET /api/account  the account (balance included) and the calling key
//
// The listings are confined to the caller's account: an account_id
// parameter naming another account is refused with 403, one naming the
// caller's own is allowed. Credential IDs are not shown. It panics if
// opts.Auth or opts.Manage is nil; opts.Runtime is not used.
//
// It also serves the caller's own keys and single calls:
//
//	GET    /api/calls/:request_id  one call of the account, with its attempts
//	GET    /api/keys               the account's keys (never their secrets)
//	POST   /api/keys               201 {"key":"sk-hub-…", key…}: a user key, shown once
//	DELETE /api/keys/:id           204; revokes a key of the account
//
// A key created here belongs to the caller's account, has the role
// "user", and can do no more than the caller (allowed models, limits,
// expiry: see createOwnKey). Key changes are audited as the caller's.
func NewUser(opts Options) http.Handler {
	u := &userHandler{core: newCore(opts, "user")}
	u.routes = []route{
		{"GET", UserUsagePath, u.usage},
		{"GET", UserCallsPath, u.calls},
		{"GET", UserAccountPath, u.account},
		{"GET", UserCallPath, u.ownCall},
		{"GET", UserKeysPath, u.listOwnKeys},
		{"POST", UserKeysPath, u.createOwnKey},
		{"DELETE", UserKeyPath, u.revokeOwnKey},
	}
	u.route(u.routes)
	return u
}

type callerKey struct{}

// caller is the API key of the request, which ServeHTTP authenticated.
func caller(ctx context.Context) store.APIKey {
	k, _ := ctx.Value(callerKey{}).(store.APIKey)
	return k
}

// ServeHTTP authenticates the request with any valid key and routes it.
func (u *userHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	k, err := u.opts.Auth.Authenticate(r.Context(), r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), callerKey{}, k))
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, u.opts.MaxBody)
	}
	u.router.ServeHTTP(w, r)
}

// ownAccount checks that the account_id a listing asks for, if any, is
// the caller's own.
func ownAccount(k store.APIKey, asked int64) error {
	if asked != 0 && asked != k.AccountID {
		return apierr.Forbidden(fmt.Sprintf("This API key may read only its own account's data (account %d), not account %d's.", k.AccountID, asked))
	}
	return nil
}

func (u *userHandler) usage(r *http.Request, _ httprouter.Params) (result, error) {
	k := caller(r.Context())
	return usageResult(r, u.opts.Manage, &k)
}

func (u *userHandler) calls(r *http.Request, _ httprouter.Params) (result, error) {
	k := caller(r.Context())
	return callsResult(r, u.opts.Manage, &k, func(c *manage.CallView) { c.CredentialID = 0 })
}

// AccountInfo is the answer to GET /api/account: the caller's account,
// its balance included, and the calling key (never the key itself).
type AccountInfo struct {
	manage.AccountView
	Key manage.KeyView `json:"key"`
}

func (u *userHandler) account(r *http.Request, _ httprouter.Params) (result, error) {
	k := caller(r.Context())
	if _, err := query(r); err != nil {
		return result{}, err
	}
	a, err := u.opts.Manage.Account(r.Context(), k.AccountID)
	if err != nil {
		return result{}, err
	}
	kv, err := u.opts.Manage.Key(r.Context(), k.ID)
	if err != nil {
		return result{}, err
	}
	return okJSON(AccountInfo{AccountView: a, Key: kv})
}
