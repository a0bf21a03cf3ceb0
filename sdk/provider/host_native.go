//go:build !wasip1

package provider

// SetConfig sets what [Config] returns in native builds (tests). In a Wasm
// build the host supplies the config and SetConfig does not exist.
func SetConfig(b []byte) { config.Set(b) }
