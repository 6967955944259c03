package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBrowserAcknowledgement drives headless Chromium as a phone: the unit
// opens its link (read), the page fits the screen, an empty name is
// refused by the form, then the confirmation is recorded and shown, and
// opening the link again shows the first confirmation.
func TestBrowserAcknowledgement(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t)
	d, units := f.issuedDocument()
	ctx := context.Background()
	ds, _ := f.st.ListDispatches(ctx, d.ID)
	disp := ds[0]
	for _, x := range ds {
		if x.UnitID == units[1].ID {
			disp = x
		}
	}
	link := fmt.Sprintf("%s/a/%s", f.http.URL, ackToken(d.ID, units[1].ID))

	bctx := newBrowser(t, chromium, 90*time.Second)

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("ack-form")),
	); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	if got, _ := f.st.GetDispatch(ctx, disp.ID); got.ReadAt == nil {
		t.Error("opening the link did not mark the document read")
	}
	fits, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		t.Errorf("the page is wider than the phone's screen (%v)", err)
	}
	// The browser itself refuses an empty name (required): still the form.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("ack-button"))); err != nil {
		t.Fatal(err)
	}
	invalid, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!document.getElementById('ack-name').checkValidity()`))
	if err != nil || !invalid {
		t.Errorf("an empty name passed the form's check (%v)", err)
	}
	if got, _ := f.st.GetDispatch(ctx, disp.ID); got.AcknowledgedAt != nil {
		t.Fatal("acknowledged without a name")
	}

	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("ack-name"), "Phạm Thị Thu Hương"),
		chromedp.SendKeys(chromedp.ID("ack-position"), "Văn thư"),
		chromedp.SendKeys(chromedp.ID("ack-note"), "Đã vào sổ công văn đến số 125."),
		chromedp.Click(chromedp.ID("ack-button")),
		chromedp.WaitVisible(chromedp.ID("ack-status")),
	); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	status, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("ack-status")))
	if err != nil || !strings.Contains(status, "Cảm ơn! Đơn vị đã xác nhận nhận văn bản lúc") || !strings.Contains(status, "Phạm Thị Thu Hương, Văn thư") {
		t.Errorf("confirmation shown = %q, %v", status, err)
	}
	got, err := f.st.GetDispatch(ctx, disp.ID)
	if err != nil || got.AcknowledgedAt == nil || got.Ack.Name != "Phạm Thị Thu Hương" || got.Ack.Note != "Đã vào sổ công văn đến số 125." {
		t.Fatalf("stored: %+v %v", got, err)
	}

	// Opening the link again: the first confirmation, no form.
	if err := chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("ack-status"))); err != nil {
		t.Fatal(err)
	}
	again, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("ack-status")))
	hasForm, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('ack-form') !== null`))
	if !strings.Contains(again, "Văn bản đã được xác nhận trước đó") || !strings.Contains(again, "Phạm Thị Thu Hương") || hasForm {
		t.Errorf("second visit = %q (form %v)", again, hasForm)
	}
}
