package testenv

import "syscall"

// sysProcAttr puts the child in its own process group (so stop can kill its
// workers too) and has the kernel kill it if the test binary dies without
// running its cleanups (panic, timeout, SIGKILL).
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}
