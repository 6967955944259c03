//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the child in its own process group so stop can kill its
// workers too. Pdeathsig is Linux-only; elsewhere Main and t.Cleanup are
// the only guards against leftovers.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
