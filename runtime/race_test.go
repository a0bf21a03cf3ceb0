//go:build race

package runtime

// raceEnabled shortens the slowest tests under the race detector, which
// slows the host side of every guest call.
const raceEnabled = true
