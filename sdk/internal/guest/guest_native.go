//go:build !wasip1

package guest

import (
	"log"
	"sync"
)

// Config is the plugin's config JSON, set with [Config.Set] in native
// builds (tests). The zero value holds "{}". It is safe for concurrent use.
type Config struct {
	mu  sync.Mutex
	set bool
	b   []byte
}

// Set makes b (copied) what [Config.Get] returns.
func (c *Config) Set(b []byte) {
	c.mu.Lock()
	c.b, c.set = append([]byte(nil), b...), true
	c.mu.Unlock()
}

// Get returns what [Config.Set] last set, "{}" before that.
func (c *Config) Get() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		return []byte("{}")
	}
	return c.b
}

// Log writes msg at level to the standard logger.
func Log(level int, msg string) { log.Printf("plugin log level=%d: %s", level, msg) }
