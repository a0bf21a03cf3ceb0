package main

import (
	"os/exec"
	"syscall"
)

// setDeathSignal asks the kernel to SIGKILL the child when hubbench dies,
// so a crash (or SIGKILL) of hubbench leaves no emulator, proxy or hub
// running. It covers the cases the deferred cleanup cannot.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
