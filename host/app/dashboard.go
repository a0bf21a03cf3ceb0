package app

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/dashboard"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/web"
)

// apiOptions are the options of the admin and user APIs.
func (h *Hub) apiOptions(logger *slog.Logger) admin.Options {
	return admin.Options{Auth: h.auth, Manage: h.manage, Runtime: runtimeView{h}, Logger: logger,
		Recorder: h.recorder, Models: func() []proxy.ModelInfo { return h.engine.Router().Models() }}
}

// dashboardApp returns the web app to serve: fsys, or the app embedded in
// the binary when fsys is nil.
func dashboardApp(fsys fs.FS, logger *slog.Logger) (*dashboard.App, error) {
	if fsys == nil {
		fsys = web.Dist()
	}
	app, err := dashboard.NewApp(fsys)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	if !app.Built() {
		logger.Info("dashboard not built into this binary: / shows how to build it (make build)")
	}
	return app, nil
}

// sessionAPI returns the dashboard's sign-in API.
func (h *Hub) sessionAPI(logger *slog.Logger) http.Handler {
	return dashboard.NewSessions(dashboard.SessionOptions{Auth: h.auth, Accounts: h.store, Logger: logger})
}

// addStats adds each plugin's pool and counters to its info.
func (v runtimeView) addStats(out []admin.PluginInfo) {
	loaded := v.h.Plugins()
	for i := range out {
		p, ok := loaded[out[i].Name]
		if !ok {
			continue
		}
		st := p.Stats()
		out[i].Instances, out[i].Idle, out[i].InUse = st.Instances, st.Idle, st.InFlight
		out[i].Calls, out[i].Errors, out[i].Crashes = st.Calls, st.Errors, st.Failures
		out[i].Recycled, out[i].MemoryBytes, out[i].CrashLoop = st.Recycled, st.MemoryBytes, st.CrashLoop
	}
}
