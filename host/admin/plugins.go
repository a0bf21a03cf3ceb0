package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
)

// PluginVersion identifies one build of a plugin module.
type PluginVersion struct {
	// Version is what the module's manifest declares.
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the module's bytes.
	SHA256 string `json:"sha256"`
	// Source is where the module was read from.
	Source   string    `json:"source"`
	LoadedAt time.Time `json:"loaded_at"`
}

// Reload steps, in order: the one a failed reload stopped at is
// PluginReload.Step.
const (
	// StepLoad reads the module (the .wasm file, or the embedded builtin).
	StepLoad = "load"
	// StepValidate checks the sha256 pin, compiles and validates the module
	// (imports, exports, ABI version, manifest) and checks that it can take
	// the old version's role (same kind; a provider's APIs and auth).
	StepValidate = "validate"
	// StepCanary runs the new module on canonical inputs.
	StepCanary = "canary"
	// StepWarm instantiates the pool.
	StepWarm = "warm"
	// StepSwap rebuilds routing (or the billing policy) around the new
	// version.
	StepSwap = "swap"
)

// PluginReload is the outcome of one reload or rollback of a plugin.
type PluginReload struct {
	Plugin string `json:"plugin"`
	// Action is "reload" or "rollback".
	Action string `json:"action"`
	// Trigger is what asked: "api", "signal" (SIGHUP) or "watch".
	Trigger string    `json:"trigger"`
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	// Changed is false when the module and its settings were those already
	// serving: nothing was swapped.
	Changed bool `json:"changed"`
	// Step and Error say where and why a failed reload stopped; the
	// previous version keeps serving.
	Step  string `json:"step,omitempty"`
	Error string `json:"error,omitempty"`
	// SHA256 and Version are those of the module tried (Version is empty
	// when it did not get as far as its manifest).
	SHA256  string `json:"sha256,omitempty"`
	Version string `json:"version,omitempty"`
	// Previous is the version that was serving before.
	Previous *PluginVersion `json:"previous,omitempty"`
	// TookMS is how long the reload took, in milliseconds.
	TookMS int64 `json:"took_ms"`
}

// PluginReloader hot-reloads plugins; the Runtime of a hub that can
// (host/app) implements it. The methods wait for the reload to finish:
// reloads of one plugin run one at a time. A plugin that fails a step is
// not swapped in; that is a result with OK false, not an error. The error
// wraps store.ErrNotFound for a plugin that is not loaded, and
// ErrNoRollback for a rollback without a previous version.
type PluginReloader interface {
	ReloadPlugin(ctx context.Context, name string) (PluginReload, error)
	RollbackPlugin(ctx context.Context, name string) (PluginReload, error)
}

// ErrNoRollback means a plugin has no previous version to roll back to.
var ErrNoRollback = errors.New("no previous version to roll back to")

// reloadPlugin serves POST /api/admin/plugins/:name/reload and .../rollback.
// The hub audits the action (plugin.reload, plugin.rollback) whatever its
// outcome.
func (h *Handler) reloadPlugin(rollback bool) func(r *http.Request, ps httprouter.Params) (result, error) {
	return func(r *http.Request, ps httprouter.Params) (result, error) {
		rt, err := h.runtime()
		if err != nil {
			return result{}, err
		}
		rl, ok := rt.(PluginReloader)
		if !ok {
			return result{}, apierr.Unavailable("This hub cannot reload plugins.")
		}
		name := ps.ByName("name")
		var res PluginReload
		if rollback {
			res, err = rl.RollbackPlugin(r.Context(), name)
		} else {
			res, err = rl.ReloadPlugin(r.Context(), name)
		}
		if err == nil {
			if aerr := h.opts.Manage.AppendAudit(r.Context(), "plugin."+res.Action, name, res.AuditDetail()); aerr != nil {
				return result{}, aerr
			}
		}
		switch {
		case errors.Is(err, ErrNoRollback):
			return result{}, &apierr.Error{Status: http.StatusConflict, Type: apierr.TypeInvalidRequest, Code: "no_rollback",
				Message: fmt.Sprintf("Plugin %s has no previous version to roll back to.", name)}
		case err != nil:
			return result{}, err
		case !res.OK:
			return result{}, &apierr.Error{Status: http.StatusUnprocessableEntity, Type: apierr.TypeInvalidRequest,
				Code: "plugin_" + res.Action + "_failed", Param: res.Step,
				Message: fmt.Sprintf("The %s of plugin %s failed at step %s: %s. The previous version keeps serving.", res.Action, name, res.Step, res.Error)}
		}
		return okJSON(res)
	}
}

// AuditDetail is what the audit log keeps of a reload: never a secret (a
// plugin's config is not in it).
func (r PluginReload) AuditDetail() map[string]any {
	d := map[string]any{"ok": r.OK, "changed": r.Changed, "trigger": r.Trigger, "sha256": r.SHA256}
	if r.Version != "" {
		d["version"] = r.Version
	}
	if r.Step != "" {
		d["step"], d["error"] = r.Step, r.Error
	}
	if r.Previous != nil {
		d["previous_sha256"], d["previous_version"] = r.Previous.SHA256, r.Previous.Version
	}
	return d
}
