package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis starts a new redis-server for this test (so its keyspace is clean
// even with parallel tests) on a free loopback port, with persistence off,
// and returns its "127.0.0.1:port" address. The server is stopped by
// t.Cleanup. If redis-server is not installed the test fails in CI and is
// skipped otherwise.
func Redis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server", "install the redis-server package")
	}
	dir := t.TempDir()
	var lastErr error
	// Retry because the free port may be taken between FreeAddr and bind.
	for attempt := 1; attempt <= 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("testenv: redis: %v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(bin,
			"--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no", "--logfile", "")
		logPath := filepath.Join(dir, fmt.Sprintf("redis-%d.log", attempt))
		p, err := startProc("redis-server", cmd, logPath, nil)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		if err := p.waitReady(func() error { return redisPing(addr) }); err != nil {
			p.stop(syscall.SIGKILL, 0)
			lastErr = fmt.Errorf("%w\nredis-server log:\n%s", err, p.logTail())
			continue
		}
		t.Cleanup(func() { p.stop(syscall.SIGTERM, 10*time.Second) })
		return addr
	}
	t.Fatalf("testenv: redis-server did not start: %v", lastErr)
	return ""
}

// redisPing speaks just enough RESP to know the server accepts commands;
// go-redis is not needed for that.
func redisPing(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		// e.g. "-LOADING" while a dataset loads.
		return fmt.Errorf("%w: PING answered %q", errNotReady, strings.TrimSpace(line))
	}
	return nil
}
