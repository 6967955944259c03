package mailer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sonoivu/vanthu/mailer"
)

const (
	office       = "vanban@sonoivu.vinhlong.gov.vn"
	officeDomain = "sonoivu.vinhlong.gov.vn"
)

// corpusFiles returns the names (without .eml) of the stored messages.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "inbound", "*.eml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".eml"))
	}
	return names
}

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "inbound", name+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func marshalInbound(t testing.TB, in mailer.Inbound) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(in); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestClassifyCorpus compares the classification of every stored message
// with its golden JSON (regenerate with -update, then review the diff).
func TestClassifyCorpus(t *testing.T) {
	for _, name := range corpusFiles(t) {
		t.Run(name, func(t *testing.T) {
			got := marshalInbound(t, mailer.Classify(readCorpus(t, name), mailer.ClassifyOptions{Office: office}))
			golden := filepath.Join("testdata", "inbound", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("classification differs from %s:\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

// corpusCase is what a stored message must classify as, written by hand
// so that regenerating the goldens cannot bless a regression.
type corpusCase struct {
	kind     mailer.InboundKind
	dispatch int    // the dispatch referred to; 0 for none
	tag      string // its tag
	from     string
	fromName string // exact: proves RFC 2047 decoding and NFC

	disposition, mode string // MDN

	format, rcpt, action, status string // DSN, first recipient
	failed                       bool

	autoReply bool
	text      string // exact, for replies and auto-replies
	problem   string // a substring of one problem; "" means none at all
}

var corpus = map[string]corpusCase{
	"mdn_thunderbird_displayed":  {kind: mailer.InboundMDN, dispatch: 101, tag: "3fybxphmj3f73ao4", from: "ubnd@thanhduc.vinhlong.gov.vn", fromName: "UBND phường Thanh Đức", disposition: "displayed", mode: "manual-action/mdn-sent-manually"},
	"mdn_outlook_read":           {kind: mailer.InboundMDN, dispatch: 102, tag: "3pphw6ifbip6dhlw", from: "vanthu@phuong1.vinhlong.gov.vn", fromName: "Văn thư Phường 1", disposition: "displayed", mode: "automatic-action/mdn-sent-automatically"},
	"mdn_apple_mail_displayed":   {kind: mailer.InboundMDN, dispatch: 103, tag: "2klujxpczr7nncqu", from: "vanthu.xaanbinh@icloud.com", fromName: "Văn thư xã An Bình", disposition: "displayed", mode: "manual-action/mdn-sent-manually"},
	"mdn_thunderbird_deleted":    {kind: mailer.InboundMDN, dispatch: 104, tag: "6jbx4knchrjdp2d6", from: "vanthu@xalongho.vinhlong.gov.vn", fromName: "Văn thư UBND xã Long Hồ", disposition: "deleted", mode: "manual-action/mdn-sent-automatically"},
	"mdn_global":                 {kind: mailer.InboundMDN, dispatch: 105, tag: "facen3rhrnnwm3vq", from: "vănthư@tânhòa.vinhlong.gov.vn", fromName: "Văn thư UBND xã Tân Hòa", disposition: "displayed", mode: "manual-action/mdn-sent-manually"},
	"mdn_no_trailing_blank_line": {kind: mailer.InboundMDN, dispatch: 106, tag: "wegrcmqpwbe2neid", from: "vanthu@phuong5.vinhlong.gov.vn", fromName: "UBND phường 5", disposition: "displayed", mode: "manual-action/mdn-sent-manually"},
	"mdn_folded_headers":         {kind: mailer.InboundMDN, dispatch: 107, tag: "6ishiprmdrng3yot", from: "vanphong@vungliem.vinhlong.gov.vn", fromName: "Văn phòng HĐND-UBND huyện Vũng Liêm", disposition: "displayed", mode: "manual-action/mdn-sent-manually"},

	"postfix_user_unknown": {kind: mailer.InboundDSN, dispatch: 201, tag: "5v4hwi7lschinmhg", from: "mailer-daemon@mx.sonoivu.vinhlong.gov.vn", fromName: "Mail Delivery System", format: "report", rcpt: "ubnd@thoihoa.vinhlong.gov.vn", action: "failed", status: "5.1.1", failed: true},
	"exim_dsn":             {kind: mailer.InboundDSN, dispatch: 202, tag: "aaqzsw5vxunvlntd", from: "mailer-daemon@mail.sonoivu.vinhlong.gov.vn", fromName: "Mail Delivery System", format: "report", rcpt: "vanthu@ubnd-longho.vinhlong.gov.vn", action: "failed", status: "5.0.0", failed: true},
	"exchange_ndr":         {kind: mailer.InboundDSN, dispatch: 203, tag: "sajgu42xlucx5chp", from: "postmaster@ubndvinhlong.onmicrosoft.com", format: "report", rcpt: "vanphong@ubnd-vinhlong.vn", action: "failed", status: "5.1.10", failed: true},
	"gmail_bounce":         {kind: mailer.InboundDSN, dispatch: 204, tag: "xxcxphsh2vieuvn5", from: "mailer-daemon@googlemail.com", fromName: "Mail Delivery Subsystem", format: "report", rcpt: "vanthu.xatanphu@gmail.com", action: "failed", status: "5.1.1", failed: true},
	"delayed":              {kind: mailer.InboundDSN, dispatch: 205, tag: "q2tzbufgjbq3nxxy", from: "postmaster@vinhlong.gov.vn", format: "report", rcpt: "ubnd@xahoaninh.vinhlong.gov.vn", action: "delayed", status: "4.4.7", failed: false},
	"qmail_plain":          {kind: mailer.InboundDSN, dispatch: 206, tag: "2hzxmjdkwk3fbuja", from: "mailer-daemon@mx.ubnd-mangthit.vinhlong.gov.vn", format: "text", rcpt: "vanthu@ubnd-mangthit.vinhlong.gov.vn", action: "failed", status: "5.1.1", failed: true, problem: "missing Message-ID"},
	"exim_plain":           {kind: mailer.InboundDSN, dispatch: 207, tag: "haspd2vjnuvlpqtk", from: "mailer-daemon@mail.ubnd-tambinh.vinhlong.gov.vn", fromName: "Mail Delivery System", format: "text", rcpt: "vanthu@ubnd-tambinh.vinhlong.gov.vn", action: "failed", status: "5.2.2", failed: true},
	"dsn_quoted_printable": {kind: mailer.InboundDSN, dispatch: 208, tag: "3bw2yv2rf2iwhuy3", from: "mailer-daemon@mail.ubnd-travinh.vinhlong.gov.vn", fromName: "Mail Delivery Subsystem", format: "report", rcpt: "ketoan@ubnd-travinh.vinhlong.gov.vn", action: "failed", status: "5.7.1", failed: true},
	"postfix_plain":        {kind: mailer.InboundDSN, dispatch: 209, tag: "atwzlh6dibdsrrdt", from: "mailer-daemon@mail.ubnd-vungliem.vinhlong.gov.vn", fromName: "Mail Delivery System", format: "text", rcpt: "vanthu@ubnd-vungliem.vinhlong.gov.vn", action: "failed", status: "5.1.1", failed: true},

	"reply_thunderbird_vi": {kind: mailer.InboundReply, dispatch: 301, tag: "rhh6cqmaog7aeury", from: "ubnd@thanhduc.vinhlong.gov.vn", fromName: "Nguyễn Thị Lan",
		text: "Kính gửi Sở Nội vụ,\n\nUBND phường Thanh Đức đã nhận được Chỉ thị số 02/CT-UBND ngày 25/11/2026 và sẽ triển khai đến toàn thể cán bộ, công chức trong tuần này.\n\nTrân trọng.\n\n--\nNguyễn Thị Lan\nVăn thư UBND phường Thanh Đức"},
	"reply_outlook": {kind: mailer.InboundReply, dispatch: 302, tag: "7rema4hnpzt2x4ws", from: "hanhchinh@binhtan.vinhlong.gov.vn", fromName: "Phòng Hành chính - UBND huyện Bình Tân",
		text: "Kính gửi Sở Nội vụ,\n\nPhòng Hành chính UBND huyện Bình Tân xác nhận đã nhận Chỉ thị số 02/CT-UBND. Văn bản đã được trình lãnh đạo huyện.\n\nTrân trọng,\nLê Thị Hồng Nhung\nPhòng Hành chính"},
	"reply_gmail_html_only": {kind: mailer.InboundReply, dispatch: 303, tag: "pbl5yxixn53jd5zi", from: "ubnd.xaanbinh@gmail.com", fromName: "UBND xã An Bình",
		text: "Kính gửi Sở Nội vụ,\n\nXã An Bình đã nhận được văn bản. Chúng tôi sẽ báo cáo kết quả thực hiện trước ngày 05/12/2026.\n\nTrân trọng,\nTrần Văn Hùng"},
	"reply_windows1258": {kind: mailer.InboundReply, dispatch: 304, tag: "d3fc5rxryl4bfdvw", from: "noivu@huyen-traon.vinhlong.gov.vn", fromName: "Phong Noi vu huyen Tra On",
		text: "Phòng Nội vụ huyện Trà Ôn đã nhận được Chỉ thị số 02/CT-UBND, xin cảm ơn Sở.\n\nNgười nhận: Võ Thị Mỹ Lệ"},
	"reply_by_tag_only": {kind: mailer.InboundReply, tag: "uzdutasoivecgwcc", from: "vanthu.xamyan@icloud.com", fromName: "Văn thư xã Mỹ An",
		text: "Kính gửi Sở Nội vụ,\n\nXã Mỹ An xác nhận đã nhận Chỉ thị số 02/CT-UBND qua thư điện tử.\n\nGửi từ iPhone của tôi"},
	"broken_mime": {kind: mailer.InboundReply, dispatch: 405, tag: "mjijikoz4xos66ej", from: "ubnd@xatrungthanh.vinhlong.gov.vn", fromName: "UBND xã Trung Thành",
		text: "Đã nhận văn bản. UBND xã Trung Thành.", problem: "never closed"},

	"autoreply_vacation": {kind: mailer.InboundOther, dispatch: 401, tag: "dfxipsama75pcuqu", from: "tam.nv@ubnd-binhminh.vinhlong.gov.vn", fromName: "Nguyễn Văn Tâm", autoReply: true,
		text: "Tôi đang nghỉ phép từ ngày 23/11/2026 đến hết ngày 27/11/2026.\n\nTrong thời gian này, xin liên hệ đồng chí Lê Văn Minh, điện thoại 0270 3822 123."},
	"autoreply_subject_only": {kind: mailer.InboundOther, dispatch: 402, tag: "rm764pr3zgxue5xc", from: "thu.pt@xahoaphu.vinhlong.gov.vn", fromName: "Phạm Thị Thu", autoReply: true,
		text: "Tôi đi công tác đến ngày 30/11/2026, sẽ trả lời thư khi trở về."},
	"newsletter":        {kind: mailer.InboundOther, from: "bantin@baovinhlong.vn", fromName: "Báo Vĩnh Long điện tử"},
	"malformed_headers": {kind: mailer.InboundMalformed, problem: "no readable header field"},
}

func messageID(dispatch int, tag string) string {
	return "vanthu.d" + strconv.Itoa(dispatch) + "." + tag + "@" + officeDomain
}

// TestClassifyCorpusFields asserts the fields that matter to the worker
// for every stored message.
func TestClassifyCorpusFields(t *testing.T) {
	names := corpusFiles(t)
	for _, name := range names {
		if _, ok := corpus[name]; !ok {
			t.Errorf("testdata/inbound/%s.eml has no entry in the corpus table", name)
		}
	}
	if len(corpus) != len(names) {
		t.Errorf("corpus table has %d entries, testdata/inbound has %d messages", len(corpus), len(names))
	}
	for _, name := range names {
		want, ok := corpus[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got := mailer.Classify(readCorpus(t, name), mailer.ClassifyOptions{Office: office})
			checkCase(t, got, want)
		})
	}
}

func checkCase(t *testing.T, got mailer.Inbound, want corpusCase) {
	t.Helper()
	if got.Kind != want.kind {
		t.Fatalf("Kind = %q, want %q (problems: %q)", got.Kind, want.kind, got.Problems)
	}
	if got.From != want.from || got.FromName != want.fromName {
		t.Errorf("From = %q %q, want %q %q", got.FromName, got.From, want.fromName, want.from)
	}
	if want.dispatch != 0 && !slices.Contains(got.References, messageID(want.dispatch, want.tag)) {
		t.Errorf("References = %q, want it to hold %s", got.References, messageID(want.dispatch, want.tag))
	}
	if want.dispatch == 0 && want.kind != mailer.InboundReply && len(got.References) > 0 {
		t.Errorf("References = %q, want none", got.References)
	}
	if want.tag != "" {
		if !slices.Equal(got.Tags, []string{want.tag}) {
			t.Errorf("Tags = %q, want [%s]", got.Tags, want.tag)
		}
		if addr := "vanban+" + want.tag + "@" + officeDomain; !slices.Contains(got.Recipients, addr) {
			t.Errorf("Recipients = %q, want it to hold %s", got.Recipients, addr)
		}
	} else if len(got.Tags) > 0 {
		t.Errorf("Tags = %q, want none", got.Tags)
	}
	if got.AutoReply != want.autoReply {
		t.Errorf("AutoReply = %v, want %v", got.AutoReply, want.autoReply)
	}
	if got.Text != want.text {
		t.Errorf("Text =\n%q\nwant\n%q", got.Text, want.text)
	}

	switch want.kind {
	case mailer.InboundMDN:
		if got.MDN == nil {
			t.Fatal("no MDN")
		}
		if got.MDN.Disposition != want.disposition || got.MDN.Mode != want.mode {
			t.Errorf("MDN = %q %q, want %q %q", got.MDN.Mode, got.MDN.Disposition, want.mode, want.disposition)
		}
		if got.MDN.FinalRecipient != want.from {
			t.Errorf("Final-Recipient = %q, want the sender %q", got.MDN.FinalRecipient, want.from)
		}
		if got.MDN.OriginalMessageID != messageID(want.dispatch, want.tag) {
			t.Errorf("Original-Message-ID = %q", got.MDN.OriginalMessageID)
		}
		if got.DSN != nil {
			t.Error("an MDN with a DSN")
		}
	case mailer.InboundDSN:
		if got.DSN == nil || len(got.DSN.Recipients) == 0 {
			t.Fatalf("DSN = %+v, want recipients", got.DSN)
		}
		r := got.DSN.Recipients[0]
		if got.DSN.Format != want.format || got.DSN.Failed != want.failed || r.FinalRecipient != want.rcpt || r.Action != want.action || r.Status != want.status {
			t.Errorf("DSN = %s failed=%v %q %q %q, want %s failed=%v %q %q %q",
				got.DSN.Format, got.DSN.Failed, r.FinalRecipient, r.Action, r.Status,
				want.format, want.failed, want.rcpt, want.action, want.status)
		}
		if r.DiagnosticCode == "" {
			t.Error("no Diagnostic-Code")
		}
		if got.MDN != nil {
			t.Error("a DSN with an MDN")
		}
	default:
		if got.MDN != nil || got.DSN != nil {
			t.Errorf("MDN %+v, DSN %+v on a %s", got.MDN, got.DSN, got.Kind)
		}
	}

	if want.problem == "" {
		if len(got.Problems) > 0 {
			t.Errorf("Problems = %q, want none", got.Problems)
		}
	} else if !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.Contains(p, want.problem) }) {
		t.Errorf("Problems = %q, want one about %q", got.Problems, want.problem)
	}
}

// message builds a raw message from header lines and a body, with CRLF.
func message(header []string, body string) []byte {
	return []byte(strings.Join(header, "\r\n") + "\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
}

var replyHeader = []string{
	"From: UBND xã Tân Hạnh <ubnd@xatanhanh.vinhlong.gov.vn>",
	"To: vanban+k3jqx2abcdq7mnop@sonoivu.vinhlong.gov.vn",
	"Subject: Re: Chỉ thị 02",
	"Date: Wed, 25 Nov 2026 10:00:00 +0700",
	"Message-ID: <r1@xatanhanh.vinhlong.gov.vn>",
	"In-Reply-To: <vanthu.d7.k3jqx2abcdq7mnop@sonoivu.vinhlong.gov.vn>",
	"MIME-Version: 1.0",
}

// TestClassifyHugePart feeds 20 MiB parts and checks that Classify stays
// within a small multiple of MaxPartBytes instead of the part's size.
func TestClassifyHugePart(t *testing.T) {
	const huge = 20 << 20
	attachment := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.7 giả lập "), huge/20))
	var wrapped strings.Builder
	for i := 0; i < len(attachment); i += 76 {
		wrapped.WriteString(attachment[i:min(i+76, len(attachment))] + "\r\n")
	}
	withAttachment := message(append(slices.Clone(replyHeader), `Content-Type: multipart/mixed; boundary="b"`),
		"--b\nContent-Type: text/plain; charset=utf-8\n\nĐã nhận, đính kèm bản scan có chữ ký.\n--b\n"+
			"Content-Type: application/pdf; name=\"scan.pdf\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"scan.pdf\"\n\n"+
			wrapped.String()+"--b--\n")
	hugeText := message(append(slices.Clone(replyHeader), "Content-Type: text/plain; charset=utf-8"),
		"Đã nhận.\n"+strings.Repeat("Nội dung rất dài được dán vào thư. ", huge/40))

	tests := []struct {
		name    string
		raw     []byte
		max     int64
		text    string
		problem string
	}{
		{"attachment", withAttachment, 64 << 10, "Đã nhận, đính kèm bản scan có chữ ký.", ""},
		{"text part", hugeText, 64 << 10, "", "longer than 65536 bytes; truncated"},
		{"text part, default limit", hugeText, 0, "", "longer than 1048576 bytes; truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.raw) < huge {
				t.Fatalf("test message is only %d bytes", len(tt.raw))
			}
			limit := tt.max
			if limit == 0 {
				limit = mailer.DefaultMaxPartBytes
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got := mailer.Classify(tt.raw, mailer.ClassifyOptions{MaxPartBytes: tt.max})
			runtime.ReadMemStats(&after)

			// Decoding and cleaning hold a few copies of at most one part;
			// the bound is far below the 20 MiB part, which Classify must
			// never copy whole.
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("Classify allocated %d bytes for a %d-byte message with MaxPartBytes %d", alloc, len(tt.raw), limit)
			if alloc > uint64(12*limit)+(1<<20) {
				t.Errorf("Classify allocated %d bytes, more than 12 × MaxPartBytes + 1 MiB", alloc)
			}
			if got.Kind != mailer.InboundReply {
				t.Fatalf("Kind = %q, want reply (problems %q)", got.Kind, got.Problems)
			}
			if tt.text != "" && got.Text != tt.text {
				t.Errorf("Text = %q, want %q", got.Text, tt.text)
			}
			if tt.text == "" && (!strings.HasPrefix(got.Text, "Đã nhận.\nNội dung") || utf8.RuneCountInString(got.Text) != mailer.MaxReplyRunes) {
				t.Errorf("Text = %q… (%d runes), want the start of the part cut at %d runes", clipRunes(got.Text, 30), utf8.RuneCountInString(got.Text), mailer.MaxReplyRunes)
			}
			if tt.problem == "" && len(got.Problems) > 0 {
				t.Errorf("Problems = %q, want none", got.Problems)
			}
			if tt.problem != "" && !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.Contains(p, tt.problem) }) {
				t.Errorf("Problems = %q, want %q", got.Problems, tt.problem)
			}
		})
	}
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	return string(r[:min(n, len(r))])
}

// TestClassifyCharsets: windows-1258 decodes to NFC through its combining
// tone marks; an unknown charset is read as UTF-8 and recorded.
func TestClassifyCharsets(t *testing.T) {
	// "Đã nhận văn bản" in windows-1258: tone marks as combining bytes.
	cp1258 := "\xd0a\xde nh\xe2\xf2n v\xe3n ba\xd2n"
	tests := []struct {
		name, contentType, cte, body string
		text, problem                string
	}{
		{"windows-1258", `text/plain; charset="windows-1258"`, "8bit", cp1258, "Đã nhận văn bản", ""},
		{"windows-1258 base64", "text/plain; charset=Windows-1258", "base64", base64.StdEncoding.EncodeToString([]byte(cp1258)), "Đã nhận văn bản", ""},
		{"latin1", "text/plain; charset=iso-8859-1", "quoted-printable", "Re=E7u, merci.", "Reçu, merci.", ""},
		{"unknown charset, UTF-8 bytes", "text/plain; charset=x-viet-vps", "8bit", "Đã nhận", "Đã nhận", `unsupported charset "x-viet-vps"; read as UTF-8`},
		{"unknown charset, other bytes", "text/plain; charset=viscii", "8bit", "\xd0\xe3 nh\xe2n", "\uFFFD nh\uFFFDn", `unsupported charset "viscii"`},
		{"bad UTF-8", "text/plain; charset=utf-8", "8bit", "Đã nhận \xff", "Đã nhận \uFFFD", "invalid bytes replaced"},
		{"unknown transfer encoding", "text/plain; charset=utf-8", "x-uuencode", "Đã nhận", "Đã nhận", `unknown Content-Transfer-Encoding "x-uuencode"`},
		{"broken base64", "text/plain; charset=utf-8", "base64", base64.StdEncoding.EncodeToString([]byte("Đã nhận văn bản")) + "=QQ==", "Đã nhận văn bản", "kept what was decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := message(append(slices.Clone(replyHeader), "Content-Type: "+tt.contentType, "Content-Transfer-Encoding: "+tt.cte), tt.body)
			got := mailer.Classify(raw, mailer.ClassifyOptions{})
			if got.Kind != mailer.InboundReply || got.Text != tt.text {
				t.Errorf("Classify = %s %q, want reply %q", got.Kind, got.Text, tt.text)
			}
			if !norm.NFC.IsNormalString(got.Text) {
				t.Errorf("Text %q is not NFC", got.Text)
			}
			if tt.problem == "" && len(got.Problems) > 0 {
				t.Errorf("Problems = %q, want none", got.Problems)
			}
			if tt.problem != "" && !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.Contains(p, tt.problem) }) {
				t.Errorf("Problems = %q, want %q", got.Problems, tt.problem)
			}
		})
	}
}

// TestClassifyReplyText covers the separators that start the quoted
// original, top- and bottom-posting, format=flowed and the length cap.
func TestClassifyReplyText(t *testing.T) {
	long := strings.Repeat("ă", mailer.MaxReplyRunes+50)
	tests := []struct {
		name, contentType, body, want string
	}{
		{"Gmail English, attribution wrapped", "text/plain; charset=utf-8",
			"Received, thank you.\n\nOn Wed, 25 Nov 2026 at 08:00, Sở Nội vụ <vanban+k3jqx2abcdq7mnop@sonoivu.vinhlong.gov.vn>\nwrote:\n\n> Kính gửi\n> Sở Nội vụ gửi\n",
			"Received, thank you."},
		{"Thunderbird Vietnamese, top-posted", "text/plain; charset=utf-8",
			"Đã nhận.\n\nVào 25/11/2026 08:00, Sở Nội vụ đã viết:\n> Kính gửi\n",
			"Đã nhận."},
		{"bottom-posted under the quote", "text/plain; charset=utf-8",
			"On 25/11/2026 08:00, Sở Nội vụ wrote:\n> Đề nghị xác nhận.\n>\n> Sở Nội vụ\n\nXác nhận đã nhận.\n",
			"Xác nhận đã nhận."},
		{"interleaved answers keep the sender's lines", "text/plain; charset=utf-8",
			"> Đề nghị xác nhận đã nhận.\nĐã nhận.\n> Đề nghị báo cáo trước 05/12.\nSẽ báo cáo đúng hạn.\n",
			"Đã nhận.\nSẽ báo cáo đúng hạn."},
		{"Outlook underscores and From/Sent", "text/plain; charset=utf-8",
			"Đã nhận văn bản.\n\n________________________________\nFrom: Sở Nội vụ <vanban@sonoivu.vinhlong.gov.vn>\nSent: Wednesday, November 25, 2026 8:00 AM\n\nKính gửi\n",
			"Đã nhận văn bản."},
		{"Outlook in Vietnamese, From/Sent only", "text/plain; charset=utf-8",
			"Đã nhận văn bản.\n\nTừ: Sở Nội vụ <vanban@sonoivu.vinhlong.gov.vn>\nĐã gửi: Thứ Tư, 25 tháng 11, 2026 8:00 SA\nĐến: UBND xã\nChủ đề: Chỉ thị 02\n\nKính gửi\n",
			"Đã nhận văn bản."},
		{"Original Message", "text/plain; charset=utf-8",
			"OK, đã nhận.\n-----Original Message-----\nFrom: Sở Nội vụ\nKính gửi\n",
			"OK, đã nhận."},
		{"a From: line in the text is not a separator", "text/plain; charset=utf-8",
			"Đã nhận.\nFrom: phòng văn thư, gửi lại bản giấy sau.\n",
			"Đã nhận.\nFrom: phòng văn thư, gửi lại bản giấy sau."},
		{"format=flowed joins soft breaks", "text/plain; charset=utf-8; format=flowed",
			"UBND xã đã nhận được Chỉ thị số 02/CT-UBND và sẽ triển khai \nngay trong tuần.\n\n-- \nVăn thư\n",
			"UBND xã đã nhận được Chỉ thị số 02/CT-UBND và sẽ triển khai ngay trong tuần.\n\n--\nVăn thư"},
		{"format=flowed with delsp", "text/plain; charset=utf-8; format=flowed; delsp=yes",
			"Đã nh \nận.\n",
			"Đã nhận."},
		{"HTML with Outlook's reply block", "text/html; charset=utf-8",
			`<html><head><style>p{margin:0}</style></head><body><p>Đã nhận&nbsp;văn bản &amp; phụ lục.</p><div id="divRplyFwdMsg"><b>From:</b> Sở Nội vụ<br><b>Sent:</b> 25/11/2026</div><p>Kính gửi</p></body></html>`,
			"Đã nhận văn bản & phụ lục."},
		{"HTML with a cited blockquote", "text/html; charset=utf-8",
			`<div>Xác nhận.</div><blockquote type="cite"><div>Kính gửi</div><blockquote>cũ hơn</blockquote><div>Sở Nội vụ</div></blockquote><div>Trân trọng</div>`,
			"Xác nhận.\nTrân trọng"},
		{"decomposed input", "text/plain; charset=utf-8", norm.NFD.String("Đã nhận văn bản"), "Đã nhận văn bản"},
		{"cap", "text/plain; charset=utf-8", long, long[:2*mailer.MaxReplyRunes]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := message(append(slices.Clone(replyHeader), "Content-Type: "+tt.contentType), tt.body)
			got := mailer.Classify(raw, mailer.ClassifyOptions{})
			if got.Kind != mailer.InboundReply {
				t.Fatalf("Kind = %q, want reply", got.Kind)
			}
			if got.Text != tt.want {
				t.Errorf("Text =\n%q\nwant\n%q", got.Text, tt.want)
			}
		})
	}
}

func TestTagOf(t *testing.T) {
	tests := []struct {
		addr, office, sep string
		tag               string
		ok                bool
	}{
		{"Vanban+K3J9@sonoivu.vn", "vanban@sonoivu.vn", "+", "k3j9", true},
		{"vanban+k3jqx2abcdq7mnop@SONOIVU.vinhlong.gov.vn", "vanban@sonoivu.vinhlong.gov.vn", "+", "k3jqx2abcdq7mnop", true},
		{"<vanban-k3j9@sonoivu.vn>", "vanban@sonoivu.vn", "-", "k3j9", true},
		{"vanban.k3j9@sonoivu.vn", "VanBan@SoNoiVu.vn", ".", "k3j9", true},
		{"vanban@sonoivu.vn", "vanban@sonoivu.vn", "+", "", false},                   // no tag
		{"vanban+@sonoivu.vn", "vanban@sonoivu.vn", "+", "", false},                  // empty tag
		{"vanban+k3j9@other.vn", "vanban@sonoivu.vn", "+", "", false},                // other domain
		{"vanbanx+k3j9@sonoivu.vn", "vanban@sonoivu.vn", "+", "", false},             // other mailbox
		{"vanban-k3j9@sonoivu.vn", "vanban@sonoivu.vn", "+", "", false},              // other separator
		{"vanban+k3j9@sonoivu.vn", "vanban@sonoivu.vn", "", "", false},               // no separator configured
		{"not an address", "vanban@sonoivu.vn", "+", "", false},                      // garbage
		{"vanban+k3j9@sonoivu.vn.evil.example", "vanban@sonoivu.vn", "+", "", false}, // suffix domain
	}
	for _, tt := range tests {
		tag, ok := mailer.TagOf(tt.addr, tt.office, tt.sep)
		if tag != tt.tag || ok != tt.ok {
			t.Errorf("TagOf(%q, %q, %q) = %q, %v; want %q, %v", tt.addr, tt.office, tt.sep, tag, ok, tt.tag, tt.ok)
		}
	}
}

// TestClassifyTags: with the office address, only its plus-tags count;
// without it, only tags shaped like NewTag's.
func TestClassifyTags(t *testing.T) {
	header := func(to string) []string {
		return []string{"From: a@xa.vn", "To: " + to, "Message-ID: <n1@xa.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700", "Subject: Xác nhận"}
	}
	tests := []struct {
		name string
		to   string
		opts mailer.ClassifyOptions
		kind mailer.InboundKind
		tags []string
	}{
		{"office tag", "vanban+k3j9@sonoivu.vn", mailer.ClassifyOptions{Office: "vanban@sonoivu.vn"}, mailer.InboundReply, []string{"k3j9"}},
		{"office tag, dot separator", "vanban.k3j9@sonoivu.vn", mailer.ClassifyOptions{Office: "vanban@sonoivu.vn", TagSeparator: "."}, mailer.InboundReply, []string{"k3j9"}},
		{"someone else's plus-address", "khac+k3j9@sonoivu.vn", mailer.ClassifyOptions{Office: "vanban@sonoivu.vn"}, mailer.InboundOther, nil},
		{"tag shape without office", "vanban+k3jqx2abcdq7mnop@sonoivu.vn", mailer.ClassifyOptions{}, mailer.InboundReply, []string{"k3jqx2abcdq7mnop"}},
		{"short tag without office", "vanban+k3j9@sonoivu.vn", mailer.ClassifyOptions{}, mailer.InboundOther, nil},
		{"not base32 without office", "vanban+k3j9x2abcdq7mn01@sonoivu.vn", mailer.ClassifyOptions{}, mailer.InboundOther, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mailer.Classify(message(header(tt.to), "Đã nhận."), tt.opts)
			if got.Kind != tt.kind || !slices.Equal(got.Tags, tt.tags) {
				t.Errorf("Classify = %s %q, want %s %q", got.Kind, got.Tags, tt.kind, tt.tags)
			}
		})
	}
}

// TestClassifyRecipients reads every envelope header an MTA or IMAP
// server adds, lower-cased and de-duplicated.
func TestClassifyRecipients(t *testing.T) {
	raw := message([]string{
		"From: a@xa.vn",
		"To: undisclosed-recipients:;",
		"Cc: =?utf-8?q?S=E1=BB=9F?= <VanBan@SoNoiVu.vn>, b@xa.vn",
		"Delivered-To: vanban+aaaa@sonoivu.vn",
		"X-Original-To: <vanban+bbbb@sonoivu.vn>",
		"Envelope-To: vanban+cccc@sonoivu.vn, vanban+aaaa@sonoivu.vn",
		"X-Envelope-To: <vanban+dddd@sonoivu.vn>",
		"Original-Recipient: rfc822;vanban+eeee@sonoivu.vn",
		"Message-ID: <n1@xa.vn>",
		"Date: Wed, 25 Nov 2026 10:00:00 +0700",
	}, "x")
	got := mailer.Classify(raw, mailer.ClassifyOptions{Office: "vanban@sonoivu.vn"})
	wantRcpt := []string{"vanban@sonoivu.vn", "b@xa.vn", "vanban+aaaa@sonoivu.vn", "vanban+bbbb@sonoivu.vn", "vanban+cccc@sonoivu.vn", "vanban+dddd@sonoivu.vn", "vanban+eeee@sonoivu.vn"}
	if !slices.Equal(got.Recipients, wantRcpt) {
		t.Errorf("Recipients = %q, want %q", got.Recipients, wantRcpt)
	}
	if want := []string{"aaaa", "bbbb", "cccc", "dddd", "eeee"}; !slices.Equal(got.Tags, want) {
		t.Errorf("Tags = %q, want %q", got.Tags, want)
	}
}

// TestClassifyEdges: what must not be mistaken for something else.
func TestClassifyEdges(t *testing.T) {
	base := []string{"From: Nguyễn Văn A <a@xa.vn>", "To: vanban+k3jqx2abcdq7mnop@sonoivu.vn", "Message-ID: <n1@xa.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700",
		"In-Reply-To: <vanthu.d7.k3jqx2abcdq7mnop@sonoivu.vn>"}
	with := func(extra ...string) []string { return append(slices.Clone(base), extra...) }
	tests := []struct {
		name      string
		raw       []byte
		kind      mailer.InboundKind
		autoReply bool
	}{
		{"subject mentions absence", message(with("Subject: Re: Chỉ thị về xử lý cán bộ vắng mặt không lý do"), "Đã nhận."), mailer.InboundReply, false},
		{"Auto-Submitted: no", message(with("Subject: Re: Chỉ thị", "Auto-Submitted: no"), "Đã nhận."), mailer.InboundReply, false},
		{"Auto-Submitted: auto-generated", message(with("Subject: Re: Chỉ thị", "Auto-Submitted: auto-generated"), "Ticket #12 created."), mailer.InboundOther, true},
		{"X-Autoreply", message(with("Subject: Re: Chỉ thị", "X-Autoreply: yes"), "Tôi vắng mặt."), mailer.InboundOther, true},
		{"Precedence auto_reply", message(with("Subject: Re: Chỉ thị", "Precedence: auto_reply"), "Tôi vắng mặt."), mailer.InboundOther, true},
		{"Automatic reply subject", message(with("Subject: Automatic reply: Chỉ thị 02"), "I am out of the office."), mailer.InboundOther, true},
		{"Out of Office subject", message(with("Subject: [Out of Office] Chỉ thị 02"), "Away."), mailer.InboundOther, true},
		{"person forwarding a bounce", message(with("Subject: Fwd: Undelivered Mail Returned to Sender"),
			"Anh xem giúp.\n\n-------- Forwarded Message --------\nThis is the mail system at host mx.example.\n"), mailer.InboundReply, false},
		{"postmaster notice that is no bounce", message([]string{"From: postmaster@xa.vn", "To: vanban@sonoivu.vn", "Message-ID: <p1@xa.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700", "Subject: Hộp thư sắp đầy"}, "Dung lượng 95%."),
			mailer.InboundOther, false},
		{"bounce subject from a daemon", message([]string{"From: MAILER-DAEMON@xa.vn", "To: vanban+k3jqx2abcdq7mnop@sonoivu.vn", "Message-ID: <p2@xa.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700", "Subject: Undeliverable: Chỉ thị 02"},
			"Your message did not reach some or all of the intended recipients.\n\n      ketoan@xa.vn\n"),
			mailer.InboundDSN, false},
		{"delivery-status part without report type", message([]string{"From: a@xa.vn", "Message-ID: <p3@xa.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700", `Content-Type: multipart/mixed; boundary="x"`},
			"--x\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.xa.vn\n\nFinal-Recipient: rfc822; b@xa.vn\nAction: failed\nStatus: 5.1.1\n--x--\n"),
			mailer.InboundDSN, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mailer.Classify(tt.raw, mailer.ClassifyOptions{})
			if got.Kind != tt.kind || got.AutoReply != tt.autoReply {
				t.Errorf("Classify = %s auto=%v, want %s auto=%v (problems %q)", got.Kind, got.AutoReply, tt.kind, tt.autoReply, got.Problems)
			}
		})
	}
}

// TestClassifyDSNRecipients checks reports with several recipients,
// missing blank lines and missing Action fields.
func TestClassifyDSNRecipients(t *testing.T) {
	report := "Reporting-MTA: dns; mx.sonoivu.vn\n" +
		"Final-Recipient: rfc822; a@xa.vn\nAction: failed\nStatus: 5.1.1\n" + // no blank line after the per-message block
		"Final-Recipient: rfc822; b@xa.vn\nAction: delivered\nStatus: 2.0.0\n\n" + // none between recipients either
		"Original-Recipient: rfc822;C@XA.vn\nFinal-Recipient: rfc822; c@xa.vn\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 4.2.2\n mailbox full\n"
	raw := message([]string{"From: MAILER-DAEMON@sonoivu.vn", "To: vanban+k3jqx2abcdq7mnop@sonoivu.vn", "Message-ID: <b1@sonoivu.vn>", "Date: Wed, 25 Nov 2026 10:00:00 +0700",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="r"`},
		"--r\nContent-Type: text/plain\n\nreport\n--r\nContent-Type: message/delivery-status\n\n"+report+"--r--\n")
	got := mailer.Classify(raw, mailer.ClassifyOptions{})
	if got.Kind != mailer.InboundDSN || got.DSN == nil {
		t.Fatalf("Classify = %+v", got)
	}
	want := []mailer.DSNRecipient{
		{FinalRecipient: "a@xa.vn", Action: "failed", Status: "5.1.1"},
		{FinalRecipient: "b@xa.vn", Action: "delivered", Status: "2.0.0"},
		{FinalRecipient: "c@xa.vn", OriginalRecipient: "c@xa.vn", Action: "delayed", Status: "4.2.2", DiagnosticCode: "452 4.2.2 mailbox full"},
	}
	if !slices.Equal(got.DSN.Recipients, want) || !got.DSN.Failed || got.DSN.ReportingMTA != "mx.sonoivu.vn" {
		t.Errorf("DSN = %+v,\nwant recipients %+v, failed, mx.sonoivu.vn", *got.DSN, want)
	}
	if !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.Contains(p, `"c@xa.vn" has no Action; taken as delayed`) }) {
		t.Errorf("Problems = %q, want the missing Action noted", got.Problems)
	}
}

// TestClassifyMalformed: what has nothing to read is malformed; a
// readable header with a broken body is not.
func TestClassifyMalformed(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		kind mailer.InboundKind
	}{
		{"empty", "", mailer.InboundMalformed},
		{"blank lines", "\r\n\r\n\r\n", mailer.InboundMalformed},
		{"binary", "\x00\x01\x02\xff\xfe\xfd", mailer.InboundMalformed},
		{"header without From, Message-ID or body", "Subject: x\r\nX-Spam: yes\r\n\r\n", mailer.InboundMalformed},
		{"header without From or Message-ID, with a body", "Subject: x\r\n\r\nnội dung", mailer.InboundOther},
		{"no blank line after the header", "From: a@xa.vn\r\nMessage-ID: <m@xa.vn>\r\nthe body starts here\r\n", mailer.InboundOther},
		{"multipart without boundary", "From: a@xa.vn\r\nContent-Type: multipart/mixed\r\n\r\nbody", mailer.InboundOther},
		{"multipart with a boundary that never comes", "From: a@xa.vn\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nbody", mailer.InboundOther},
		{"unparseable Content-Type", "From: a@xa.vn\r\nContent-Type: multipart/mixed; boundary=a b; x\r\n\r\n--a b\r\n\r\nnội dung\r\n--a b--\r\n", mailer.InboundOther},
		{"deep nesting", "From: a@xa.vn\r\n" + strings.Repeat("Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n", 40), mailer.InboundOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mailer.Classify([]byte(tt.raw), mailer.ClassifyOptions{})
			if got.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q (problems %q)", got.Kind, tt.kind, got.Problems)
			}
			if len(got.Problems) == 0 {
				t.Error("no problem recorded")
			}
		})
	}
}

// TestClassifyLineEndings: the corpus classifies the same with LF-only
// line ends, as some IMAP servers and saved files have them.
func TestClassifyLineEndings(t *testing.T) {
	for _, name := range corpusFiles(t) {
		raw := readCorpus(t, name)
		crlf := mailer.Classify(raw, mailer.ClassifyOptions{Office: office})
		lf := mailer.Classify(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), mailer.ClassifyOptions{Office: office})
		if lf.Kind != crlf.Kind || lf.Text != crlf.Text || !slices.Equal(lf.References, crlf.References) ||
			!reflect.DeepEqual(lf.MDN, crlf.MDN) || !reflect.DeepEqual(lf.DSN, crlf.DSN) {
			t.Errorf("%s: with LF line ends\n%+v\nwith CRLF\n%+v", name, lf, crlf)
		}
	}
}
