package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long a server may take to become ready. Generous
// because CI machines are slow and initdb alone can take seconds.
const startTimeout = 30 * time.Second

// proc is a server process started in its own process group, with its
// stdout and stderr going to a log file so start-up failures can be shown.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

// spawner starts every child from one OS thread that stays alive until the
// test binary exits. This matters because Linux delivers Pdeathsig when the
// *thread* that forked the child dies, not the process: forking from an
// ordinary goroutine could get a server killed in the middle of a test when
// the Go runtime retires that thread.
type spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

// spawn is the package's single spawner; it is process-wide state by nature
// (one locked thread per test binary).
var spawn spawner

func (s *spawner) start(cmd *exec.Cmd) error {
	s.once.Do(func() {
		s.reqs = make(chan spawnReq)
		go func() {
			// Never unlocked and never returns, so the thread lives as long
			// as the test binary.
			runtime.LockOSThread()
			for r := range s.reqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, errc: errc}
	return <-errc
}

// startProc starts cmd in a new process group with output appended to
// logPath. cred, if not nil, runs it as another user (PostgreSQL refuses to
// run as root).
func startProc(name string, cmd *exec.Cmd, logPath string, cred *syscall.Credential) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := spawn.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has already terminated.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the server to shut down with sig, waits up to grace, then kills
// the whole process group so no worker children are left behind.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
		timer := time.NewTimer(grace)
		select {
		case <-p.done:
		case <-timer.C:
		}
		timer.Stop()
	}
	// Children (dovecot workers, postgres backends) share the group; they
	// may outlive a master that died abnormally.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// logTail returns the end of the process log for failure messages.
func (p *proc) logTail() string {
	return readTail(p.logPath)
}

func readTail(path string) string {
	const max = 8 << 10
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(log empty)"
	}
	return s
}

// errNotReady is returned by probe functions while the server is starting.
var errNotReady = errors.New("not ready")

// waitReady polls probe until it succeeds, the process exits or the
// deadline passes. It polls on a ticker instead of sleeping a fixed time so
// fast machines proceed as soon as the server answers.
func (p *proc) waitReady(probe func() error) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = probe(); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up (%v); last probe error: %v", p.name, p.waitErr, last)
		case <-deadline.C:
			return fmt.Errorf("%s not ready after %s: %v", p.name, startTimeout, last)
		case <-tick.C:
		}
	}
}
