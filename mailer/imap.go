package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sonoivu/vanthu"
)

// IMAPConfig is how to reach and open the office mailbox.
type IMAPConfig struct {
	Host     string
	Port     int
	TLS      TLSMode
	Username string
	Password string
	// Mailbox to select; default INBOX.
	Mailbox string
	// InsecureSkipVerify accepts any server certificate; tests only.
	InsecureSkipVerify bool
	// PlaintextAuth allows the password over an unencrypted connection to
	// a host other than this machine; by default that is refused.
	PlaintextAuth bool
}

// Mailbox is one logged-in IMAP connection with a mailbox selected. It is
// not safe for concurrent use: one watcher owns it.
type Mailbox struct {
	c           *imapclient.Client
	uidValidity uint32
	// exists receives a signal whenever the server reports a new message
	// count, so WaitNew can wake without polling.
	exists chan struct{}

	mu    sync.Mutex
	count uint32
}

// DialIMAP connects, logs in and selects the mailbox. Every failure is
// EUnavailable: the caller retries on its own schedule.
func DialIMAP(ctx context.Context, cfg IMAPConfig) (*Mailbox, error) {
	if cfg.Host == "" || cfg.Port == 0 {
		return nil, vanthu.Errorf(vanthu.EUnavailable, "Chưa cấu hình hộp thư IMAP.")
	}
	if !cfg.TLS.Valid() {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Chế độ TLS không hợp lệ: %q.", cfg.TLS)
	}
	if !cfg.TLS.secure() && !isLoopback(cfg.Host) && !cfg.PlaintextAuth {
		return nil, vanthu.Errorf(vanthu.EInvalid, "Không gửi mật khẩu IMAP qua kết nối không mã hoá tới %s; hãy dùng TLS hoặc STARTTLS.", cfg.Host)
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	addr := hostPort(cfg.Host, cfg.Port)
	m := &Mailbox{exists: make(chan struct{}, 1)}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig(cfg.Host, cfg.InsecureSkipVerify),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					m.noteCount(*d.NumMessages)
				}
			},
		},
	}

	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không kết nối được máy chủ IMAP " + addr + ".", Err: err}
	}
	// The IMAP client has no context support: closing the connection is
	// how a cancelled context interrupts a blocked command.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	switch cfg.TLS {
	case TLSImplicit:
		m.c = imapclient.New(tls.Client(conn, opts.TLSConfig), opts)
	case TLSStartTLS:
		m.c, err = imapclient.NewStartTLS(conn, opts)
	default:
		m.c = imapclient.New(conn, opts)
	}
	if err != nil {
		_ = conn.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không thiết lập được TLS với máy chủ IMAP " + addr + ".", Err: err}
	}
	if err := m.c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		_ = m.c.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Máy chủ IMAP " + addr + " từ chối đăng nhập " + cfg.Username + ".", Err: err}
	}
	sel, err := m.c.Select(cfg.Mailbox, nil).Wait()
	if err != nil {
		_ = m.c.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không mở được hộp thư " + cfg.Mailbox + ".", Err: err}
	}
	m.uidValidity = sel.UIDValidity
	m.mu.Lock()
	m.count = sel.NumMessages
	m.mu.Unlock()
	if ctx.Err() != nil {
		_ = m.c.Close()
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Kết nối IMAP bị dừng.", Err: ctx.Err()}
	}
	return m, nil
}

func (m *Mailbox) noteCount(n uint32) {
	m.mu.Lock()
	grew := n > m.count
	m.count = n
	m.mu.Unlock()
	if grew {
		select {
		case m.exists <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// UIDValidity is the mailbox's UIDVALIDITY. UIDs remembered from another
// validity are meaningless: the watcher must start over.
func (m *Mailbox) UIDValidity() uint32 { return m.uidValidity }

// Fetched is one message read from the mailbox.
type Fetched struct {
	UID          uint32
	InternalDate time.Time
	Raw          []byte
}

// FetchSince returns up to limit messages with UID greater than after, in
// UID order, without marking them seen.
func (m *Mailbox) FetchSince(ctx context.Context, after uint32, limit int) ([]Fetched, error) {
	if limit <= 0 {
		limit = 100
	}
	stop := context.AfterFunc(ctx, func() { _ = m.c.Close() })
	defer stop()

	// "after+1:*" always matches the highest UID even when it is not above
	// after (RFC 3501 §6.4.8), so UIDs are listed first and filtered; the
	// bodies are fetched only for the ones wanted.
	all := imap.UIDSet{imap.UIDRange{Start: imap.UID(after + 1), Stop: 0}}
	bufs, err := m.c.Fetch(all, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return nil, m.fail(ctx, "liệt kê thư", err)
	}
	var uids []imap.UID
	for _, b := range bufs {
		if uint32(b.UID) > after {
			uids = append(uids, b.UID)
		}
	}
	slices.Sort(uids)
	if len(uids) > limit {
		uids = uids[:limit]
	}
	if len(uids) == 0 {
		return nil, nil
	}
	bufs, err = m.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID:          true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		return nil, m.fail(ctx, "đọc thư", err)
	}
	out := make([]Fetched, 0, len(bufs))
	for _, b := range bufs {
		f := Fetched{UID: uint32(b.UID), InternalDate: b.InternalDate}
		if len(b.BodySection) > 0 {
			f.Raw = b.BodySection[0].Bytes
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fetched) int { return int(a.UID) - int(b.UID) })
	return out, nil
}

func (m *Mailbox) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return &vanthu.Error{Code: vanthu.EUnavailable, Message: "IMAP: không " + what + " được.", Err: err}
}

// SupportsIdle reports whether the server can push new-mail notices.
func (m *Mailbox) SupportsIdle() bool {
	caps := m.c.Caps()
	return caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2)
}

// WaitNew waits until the server reports new mail, ctx is done or timeout
// passes, and reports whether new mail arrived. Without IDLE it returns
// (false, nil) at once and the caller polls. The client library re-issues
// IDLE before the 29-minute limit of RFC 2177 on its own.
func (m *Mailbox) WaitNew(ctx context.Context, timeout time.Duration) (bool, error) {
	select {
	case <-m.exists: // arrived between the last fetch and now
		return true, nil
	default:
	}
	if !m.SupportsIdle() {
		return false, nil
	}
	idle, err := m.c.Idle()
	if err != nil {
		return false, m.fail(ctx, "chờ thư mới", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	got := false
	var waitErr error
	select {
	case <-m.exists:
		got = true
	case <-timer.C:
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-m.c.Closed():
		waitErr = errors.New("connection closed")
	}
	if err := idle.Close(); err != nil && waitErr == nil {
		waitErr = err
	}
	if err := idle.Wait(); err != nil && waitErr == nil {
		waitErr = err
	}
	if waitErr != nil {
		return got, &vanthu.Error{Code: vanthu.EUnavailable, Message: "IMAP: chờ thư mới bị gián đoạn.", Err: waitErr}
	}
	return got, nil
}

// AddFlags adds flags (for example imap.FlagSeen, "\\Seen") to a message.
func (m *Mailbox) AddFlags(ctx context.Context, uid uint32, flags ...string) error {
	stop := context.AfterFunc(ctx, func() { _ = m.c.Close() })
	defer stop()
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	err := m.c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: fl}, nil).Close()
	if err != nil {
		return m.fail(ctx, fmt.Sprintf("gắn cờ thư %d", uid), err)
	}
	return nil
}

// Move moves a message to folder, creating the folder the first time
// (go-imap falls back to COPY + STORE \Deleted + EXPUNGE on servers
// without MOVE).
func (m *Mailbox) Move(ctx context.Context, uid uint32, folder string) error {
	stop := context.AfterFunc(ctx, func() { _ = m.c.Close() })
	defer stop()
	set := imap.UIDSetNum(imap.UID(uid))
	if _, err := m.c.Move(set, folder).Wait(); err != nil {
		// The usual cause is a folder that does not exist yet (TRYCREATE);
		// create it and try once more. An error from Create (it exists
		// already) is not the interesting one: the second Move's is.
		_ = m.c.Create(folder, nil).Wait()
		if _, err := m.c.Move(set, folder).Wait(); err != nil {
			return m.fail(ctx, fmt.Sprintf("chuyển thư %d sang %s", uid, folder), err)
		}
	}
	return nil
}

// Close logs out and closes the connection.
func (m *Mailbox) Close() error {
	_ = m.c.Logout().Wait()
	return m.c.Close()
}
