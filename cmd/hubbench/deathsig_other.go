//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing off Linux: only the deferred cleanup and the
// signal handler stop the children there.
func setDeathSignal(*exec.Cmd) {}
