package main

import (
	"context"
	"maps"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// devRun is a `vanthu dev` started for one test.
type devRun struct {
	base string // http://127.0.0.1:PORT
	out  *syncBuffer
	logs *syncBuffer
}

var listeningRE = regexp.MustCompile(`listening on ([^)\s]+)\)`)

// startDev runs `vanthu dev` until the test ends, with env over the test
// defaults (no sample quarters), and returns once its web server answers (within wait, which
// covers seeding). Every port is chosen by the kernel at bind time and
// read back from the banner: a port picked free beforehand can be taken
// by a parallel test before dev binds it.
func startDev(t *testing.T, env map[string]string, wait time.Duration) *devRun {
	t.Helper()
	all := map[string]string{
		"VANTHU_HTTP_ADDR":     "127.0.0.1:0",
		"VANTHU_DATA_DIR":      t.TempDir(),
		"VANTHU_DEV_SMTP_ADDR": "127.0.0.1:0",
		"VANTHU_DEV_IMAP_ADDR": "127.0.0.1:0",
		"VANTHU_LOG_LEVEL":     "warn",
		// Seeding signed minutes takes seconds under the race detector;
		// the report's walk-through asks for the quarters it reads.
		"VANTHU_DEV_SAMPLE_QUARTERS": "0",
	}
	maps.Copy(all, env)
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{out: new(syncBuffer), logs: new(syncBuffer)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev"}, func(k string) string { return all[k] }, strings.NewReader(""), d.out, d.logs)
	}()
	waitFor(t, wait, "the web address in the banner", done, d.logs, func() bool {
		m := listeningRE.FindStringSubmatch(d.out.String())
		if m == nil {
			return false
		}
		d.base = "http://" + m[1]
		return answers(d.base + "/login")()
	})
	t.Cleanup(func() { stopDev(t, cancel, done, d.logs) })
	return d
}

// devBrowser starts headless Chromium with a w×h window for the test; the
// context it returns ends with the test or after timeout. Cleanups run in
// reverse, so the browser closes before dev stops.
func devBrowser(t *testing.T, chromium string, w, h int, timeout time.Duration) context.Context {
	t.Helper()
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(w, h),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	bctx, tcancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { tcancel(); bcancel(); acancel() })
	return bctx
}

func TestBoundBaseURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}
	for _, tt := range []struct{ base, want string }{
		{"http://127.0.0.1:0", "http://127.0.0.1:41234"},
		{"http://localhost:0", "http://localhost:41234"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},         // a fixed port stands
		{"https://vanthu.snv.gov.vn", "https://vanthu.snv.gov.vn"}, // as configured
	} {
		if got := boundBaseURL(tt.base, bound); got != tt.want {
			t.Errorf("boundBaseURL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}
