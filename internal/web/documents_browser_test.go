package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBrowserLiveProgress drives headless Chromium: the progress bar, the
// counts and the per-unit table of an issued document follow the store
// without a reload, and polling stops once every dispatch is final.
func TestBrowserLiveProgress(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t)
	d, _ := f.issuedDocument()
	ctx := context.Background()
	ds, err := f.store.ListDispatches(ctx, d.ID)
	if err != nil || len(ds) != 3 {
		t.Fatalf("dispatches %v %v", ds, err)
	}

	bctx := newBrowser(t, chromium, 90*time.Second)

	err = chromedp.Do(bctx,
		chromedp.Navigate(fmt.Sprintf("%s/documents/%d", f.http.URL, d.ID)),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "u-clerk"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("progress-bar")),
	)
	if err != nil {
		t.Fatalf("open document page: %v", err)
	}
	// A marker that a reload would wipe.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__samePage = true`)); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	if _, err := f.store.ApplyMilestone(ctx, ds[0].ID, vanthu.MilestoneAcknowledged, now, vanthu.SourceWeb, "test", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkFailed(ctx, ds[1].ID, "550 hộp thư không tồn tại", now); err != nil {
		t.Fatal(err)
	}
	cond := fmt.Sprintf(`(function () {
		const q = s => document.querySelector(s);
		const row = id => '#dispatches tr[data-id="' + id + '"] ';
		return q('[data-count="acknowledged"]').textContent === '1' &&
			q('[data-count="failed"]').textContent === '1' &&
			q('[data-count="queued"]').textContent === '1' &&
			q('rect[data-seg="acknowledged"]').getAttribute('width') === '333' &&
			q(row(%d) + '[data-col="status"]').textContent === 'Đã xác nhận' &&
			q(row(%d) + '[data-col="acknowledged_at"]').textContent !== '' &&
			q(row(%d) + '[data-col="fail_reason"]').textContent === '550 hộp thư không tồn tại' &&
			q('#progress-summary').textContent.startsWith('1/3 đã xác nhận');
	})()`, ds[0].ID, ds[0].ID, ds[1].ID)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		html, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("progress")))
		t.Fatalf("page did not follow the store: %v\n%s", err, html)
	}
	same, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__samePage === true`))
	if err != nil || !same {
		t.Fatalf("the page reloaded (marker %v, %v)", same, err)
	}

	// The last one acknowledges: everything is final and polling stops.
	if _, err := f.store.ApplyMilestone(ctx, ds[2].ID, vanthu.MilestoneAcknowledged, time.Now(), vanthu.SourceWeb, "test", ""); err != nil {
		t.Fatal(err)
	}
	final := `document.querySelector('#progress').getAttribute('data-final') === '1' && document.querySelector('[data-count="acknowledged"]').textContent === '2'`
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](final, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("final state not shown: %v", err)
	}
}
