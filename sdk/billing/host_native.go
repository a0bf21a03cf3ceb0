//go:build !wasip1

package billing

import (
	"log"
	"sync"
)

var (
	nativeMu     sync.Mutex
	nativeConfig = []byte("{}")
)

// SetConfig sets what [Config] returns in native builds (tests). In a Wasm
// build the host supplies the config and SetConfig does not exist.
func SetConfig(b []byte) {
	nativeMu.Lock()
	nativeConfig = append([]byte(nil), b...)
	nativeMu.Unlock()
}

// Config returns the plugin's config JSON: the [plugins.NAME.config] table
// of the operator's hub.toml, "{}" when there is none.
func Config() []byte {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	return nativeConfig
}

// Log writes a message to the host's log at level (abi.LogDebug..LogError).
// Natively it writes to the standard logger.
func Log(level int, msg string) { log.Printf("plugin log level=%d: %s", level, msg) }
