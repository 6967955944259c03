package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/smtp"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestDevIssueDirective is issue 4's walk-through on `vanthu dev`: the
// clerk drafts a directive to all seeded units on the web page, issues it,
// watches the progress bar reach "sent" for every unit without reloading,
// and each unit's mailbox in the dev mail viewer holds exactly one message
// with the PDF and an acknowledgement link that works.
func TestDevIssueDirective(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against vanthu dev")
	}
	chromium := testenv.Chromium(t)
	dev := startDev(t, map[string]string{
		// The seeded units share a few domains; do not wait on the
		// production pace here.
		"VANTHU_SMTP_RATE":   "500",
		"VANTHU_DOMAIN_RATE": "500",
	}, 2*time.Minute)
	base, out, logs := dev.base, dev.out, dev.logs
	bctx := devBrowser(t, chromium, 412, 915, 3*time.Minute) // a phone

	deadline := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/documents/new?template=directive"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "vanthu"),
		chromedp.SendKeys(css("#password"), "vanthu@2026"),
		chromedp.Click(css("form.login button[type=submit]")),
		chromedp.WaitVisible(css("#doc-form")),
		chromedp.Click(css(`input[name="content.audience.all"]`)),
		chromedp.SetValue(css("#f-deadline"), deadline),
		chromedp.Click(css("#save")),
		chromedp.WaitVisible(css("#issue")),
		chromedp.Click(css(`input[name="confirm_issue"]`)),
		chromedp.Click(css("#issue")),
		chromedp.WaitVisible(css("#progress-bar")),
	)
	if err != nil {
		t.Fatalf("draft and issue on the page: %v\n%s", err, logs.String())
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__samePage = true`)); err != nil {
		t.Fatal(err)
	}
	// Every unit sent (or further), shown by the live page.
	allSent := `(function () {
		const n = s => Number(document.querySelector('[data-count="' + s + '"]').textContent);
		const total = document.querySelectorAll('#dispatches tr[data-id]').length;
		return total > 0 && n('queued') === 0 && n('failed') === 0 && n('sent') + n('read') + n('acknowledged') === total ? String(total) : '';
	})()`
	total, err := chromedp.Run(bctx, chromedp.Poll[string](allSent, chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(bctx, chromedp.Text(css("#progress")))
		t.Fatalf("the progress bar did not reach sent for all: %v\n%s\n%s", err, text, logs.String())
	}
	if same, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__samePage === true`)); err != nil || !same {
		t.Errorf("the page reloaded to show progress (%v)", err)
	}
	docURL, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s units sent from %s", total, docURL)

	// Each unit's mailbox: exactly one message, with the PDF and a link.
	jar, _ := cookiejar.New(nil)
	clerk := &http.Client{Jar: jar}
	resp, err := clerk.PostForm(base+"/login", url.Values{"username": {"vanthu"}, "password": {"vanthu@2026"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get := func(path string) string {
		resp, err := clerk.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var list struct {
		Dispatches []struct {
			Email string `json:"email"`
		} `json:"dispatches"`
	}
	docPath, _, _ := strings.Cut(strings.TrimPrefix(docURL, base), "?")
	if err := json.Unmarshal([]byte(get("/api/v1"+docPath+"/dispatches")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Dispatches) == 0 || total != strconv.Itoa(len(list.Dispatches)) {
		t.Fatalf("the API lists %d dispatches, the page counted %s", len(list.Dispatches), total)
	}
	var link, replyTo, origID, replyFrom string
	for i, r := range list.Dispatches {
		addr := r.Email
		box := get("/dev/mail/" + url.PathEscape(addr))
		uids := regexp.MustCompile(`href="/dev/mail/[^/"]+/([0-9]+)"`).FindAllStringSubmatch(box, -1)
		if n := distinct(uids); n != 1 {
			t.Errorf("mailbox %s holds %d messages, want exactly 1", addr, n)
			continue
		}
		if i == 1 {
			// The second unit will answer by mail: read what a client
			// replies to.
			raw := get("/dev/mail/" + url.PathEscape(addr) + "/" + uids[0][1] + "/raw")
			replyTo = firstMatch(t, raw, `(?m)^Reply-To: <?([^>\r\n]+)>?\r?$`)
			origID = firstMatch(t, raw, `(?m)^Message-I[Dd]: (<[^>]+>)\r?$`)
			replyFrom = addr
		}
		if i > 0 {
			continue // read one message in full
		}
		msg := get("/dev/mail/" + url.PathEscape(addr) + "/" + uids[0][1])
		if !strings.Contains(msg, ".pdf") || !strings.Contains(msg, "application/pdf") {
			t.Errorf("the message to %s has no PDF attachment", addr)
		}
		m := regexp.MustCompile(`https?://[^\s"<]+/a/[A-Za-z0-9_-]+`).FindString(msg)
		if m == "" {
			t.Fatalf("no acknowledgement link in the message to %s", addr)
		}
		link = m
	}
	// The link works: the unit (no login) acknowledges.
	u, _ := url.Parse(link)
	page, err := http.Get(base + u.Path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(b), "Xác nhận đã nhận văn bản") {
		t.Fatalf("acknowledgement page: %s\n%.1000s", page.Status, b)
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate(base+u.Path),
		chromedp.WaitVisible(css("#ack-button")),
		chromedp.SendKeys(css("#ack-name"), "Nguyễn Thị Lan"),
		chromedp.Click(css("#ack-button")),
		chromedp.WaitVisible(css("#ack-status")),
		chromedp.Navigate(docURL),
	)
	if err != nil {
		t.Fatalf("acknowledge through the link: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('[data-count="acknowledged"]').textContent === '1'`,
		chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the acknowledgement does not show on the document page: %v", err)
	}

	// The second unit replies by mail, as a mail client does: to the
	// Reply-To, with In-Reply-To. The office mailbox watcher sees it (IDLE
	// on the dev mail server) and the reply counts as an acknowledgement.
	reply := "From: " + replyFrom + "\r\nTo: " + replyTo + "\r\nSubject: Re: =?UTF-8?B?Q2jhu4kgdGjhu4s=?=\r\n" +
		"Message-ID: <reply-1@unit.test>\r\nIn-Reply-To: " + origID + "\r\nReferences: " + origID + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" +
		"Đơn vị đã nhận văn bản.\r\n\r\n> Kính gửi\r\n"
	smtpAddr := firstMatch(t, out.String(), `SMTP:\s+(\S+)`)
	if err := smtp.SendMail(smtpAddr, nil, replyFrom, []string{replyTo}, []byte(reply)); err != nil {
		t.Fatalf("reply by mail: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('[data-count="acknowledged"]').textContent === '2'`,
		chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the reply by mail does not show as an acknowledgement: %v\n%s", err, logs.String())
	}
}

func firstMatch(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%.2000s", re, s)
	}
	return m[1]
}

func distinct(ms [][]string) int {
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m[1]] = true
	}
	return len(seen)
}
