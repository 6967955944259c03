// Package testenv starts real servers (redis-server, PostgreSQL, Dovecot)
// on loopback with temporary directories, and finds Chromium, for tests
// that must run against the real thing rather than a fake.
//
// Locally a missing binary skips the test; in CI (CI=true) it fails it, so
// a broken CI image can never turn into a silently green run.
//
// Packages that call Postgres must route TestMain through Main so the shared
// server is stopped when the test binary ends:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Redis and Dovecot start one server per call and stop it with t.Cleanup.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// InCI reports whether CI=true: then a missing server binary is a test
// failure, never a skip.
func InCI() bool {
	v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv("CI")))
	return err == nil && v
}

// missing ends the test because a server binary is not installed: a failure
// in CI, a skip on a developer machine.
func missing(t testing.TB, what, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("testenv: %s not found (CI=true, so this is a failure): %s", what, hint)
	}
	t.Skipf("testenv: %s not found, skipping (%s)", what, hint)
}

// Main runs the tests, then stops the servers shared by the test binary
// (PostgreSQL) and removes their directories, then exits with the tests'
// status. Call it from TestMain.
func Main(m *testing.M) {
	shared.enable()
	code := m.Run()
	shared.stop()
	os.Exit(code)
}

// FreeAddr returns a free loopback "127.0.0.1:port" address. The port is
// free when returned; another process may still take it before the caller
// binds, which is why the server starters retry on a bind failure.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	return addr
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Chromium returns the path of a Chromium/Chrome binary for chromedp: it
// checks $VANTHU_CHROMIUM, then chromium, chromium-browser and
// google-chrome in PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VANTHU_CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		// An explicit setting that points nowhere is a mistake worth
		// reporting even outside CI.
		t.Fatalf("testenv: VANTHU_CHROMIUM=%q is not an executable", p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	missing(t, "Chromium", "install the chromium package or set VANTHU_CHROMIUM")
	return ""
}
