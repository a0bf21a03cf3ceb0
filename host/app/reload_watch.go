package app

import (
	"context"
	"os"
	"time"

	"github.com/aignehub/hub/store"
)

// watchPoll is how often watched plugin files are checked.
const watchPoll = time.Second

// watchState is what the watcher knows of one watched file.
type watchState struct {
	size   int64
	mtime  time.Time
	sha256 string
	stable bool   // the same on two polls in a row: acted on
	tried  string // the SHA-256 last reloaded from the file, so a bad module is tried once
}

// watchPlugins reloads the plugins whose [plugins.NAME] entry sets watch
// when their .wasm file changes, until ctx ends. A file is read only when
// its size or modification time moved, and reloaded only once its size,
// modification time and SHA-256 are the same on two polls in a row — a file
// still being written is not — and differ from the serving module. A
// module that fails the reload is not tried again until the file changes.
func (h *Hub) watchPlugins(ctx context.Context) {
	t := time.NewTicker(watchPoll)
	defer t.Stop()
	state := map[string]*watchState{}
	ctx = store.WithActor(ctx, store.Actor{Name: "watch"})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.pollWatched(ctx, state)
	}
}

func (h *Hub) pollWatched(ctx context.Context, state map[string]*watchState) {
	for _, s := range h.slots() {
		e := s.entry()
		if _, builtin := e.Builtin(); !e.Watch || builtin {
			delete(state, s.name)
			continue
		}
		st := state[s.name]
		if st == nil {
			st = &watchState{}
			state[s.name] = st
		}
		fi, err := os.Stat(e.Source)
		if err != nil || !fi.Mode().IsRegular() {
			*st = watchState{tried: st.tried} // gone or being replaced: look again later
			continue
		}
		same := fi.Size() == st.size && fi.ModTime().Equal(st.mtime)
		if same && st.stable {
			continue
		}
		wasm, err := os.ReadFile(e.Source)
		if err != nil {
			*st = watchState{tried: st.tried}
			continue
		}
		sum := sha256Hex(wasm)
		if !same || sum != st.sha256 || int64(len(wasm)) != fi.Size() {
			*st = watchState{size: fi.Size(), mtime: fi.ModTime(), sha256: sum, tried: st.tried}
			continue
		}
		st.stable = true
		if sum == s.current().SHA256() || sum == st.tried {
			continue
		}
		st.tried = sum
		res, err := h.reload(ctx, s, reloadRequest{action: "reload", trigger: triggerWatch, entry: e, wasm: wasm})
		if err != nil {
			h.log.Warn("watch: reload", "plugin", s.name, "err", err)
			continue
		}
		h.audit(ctx, res)
	}
}
