package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := testenv.Redis(t), testenv.Redis(t)
	if a == b {
		t.Fatalf("two calls returned the same server %s", a)
	}
	ra := redis.NewClient(&redis.Options{Addr: a})
	defer ra.Close()
	rb := redis.NewClient(&redis.Options{Addr: b})
	defer rb.Close()

	if got, err := ra.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	if err := ra.Set(ctx, "công_văn", "Số 12/SNV-VP", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := ra.Get(ctx, "công_văn").Result(); err != nil || got != "Số 12/SNV-VP" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	// Each caller must get a clean keyspace.
	if err := rb.Get(ctx, "công_văn").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("second server GET err = %v, want redis.Nil", err)
	}
	if n, err := rb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("second server DBSIZE = %d, %v; want 0", n, err)
	}
}

func TestRedisStoppedByCleanup(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("use", func(t *testing.T) { addr = testenv.Redis(t) })
	if addr == "" {
		t.Skip("subtest skipped")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("redis at %s still accepts connections after its test ended", addr)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsnA, dsnB := testenv.Postgres(t), testenv.Postgres(t)
	if dsnA == dsnB {
		t.Fatalf("two calls returned the same DSN %s", dsnA)
	}
	if !strings.Contains(dsnA, "sslmode=disable") {
		t.Errorf("DSN %q lacks sslmode=disable", dsnA)
	}
	a := connect(t, dsnA)
	b := connect(t, dsnB)

	var version string
	if err := a.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		t.Fatalf("SELECT version(): %v", err)
	}
	if !strings.HasPrefix(version, "PostgreSQL ") {
		t.Errorf("version() = %q", version)
	}

	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("both DSNs connect to database %q", nameA)
	}

	for _, c := range []*pgx.Conn{a, b} {
		if n := userTables(t, c); n != 0 {
			t.Fatalf("fresh database has %d tables, want 0", n)
		}
	}
	if _, err := a.Exec(ctx, "CREATE TABLE don_vi (ten text)"); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}
	if n := userTables(t, b); n != 0 {
		t.Fatalf("table created in %s is visible in %s", nameA, nameB)
	}

	// The cluster must be UTF-8 with a UTF-8 ctype, or lower() and ILIKE
	// would leave Vietnamese capitals untouched.
	var lower string
	if err := a.QueryRow(ctx, "SELECT lower('SỞ NỘI VỤ')").Scan(&lower); err != nil {
		t.Fatal(err)
	}
	if lower != "sở nội vụ" {
		t.Errorf("lower('SỞ NỘI VỤ') = %q", lower)
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func userTables(t *testing.T, c *pgx.Conn) int {
	t.Helper()
	var n int
	err := c.QueryRow(context.Background(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDovecot(t *testing.T) {
	t.Parallel()
	users := map[string]string{
		"vanban@snv.test": "mật-khẩu-1",
		"ubnd@snv.test":   "secret2",
	}
	srv := testenv.Dovecot(t, users)
	if srv.Users["vanban@snv.test"] != "mật-khẩu-1" {
		t.Fatalf("Users = %v", srv.Users)
	}

	// Wrong passwords must be refused, or the server is not really
	// authenticating.
	c := dial(t, srv.Addr)
	if err := c.Login("vanban@snv.test", "sai").Wait(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}

	subject := "Công văn số 12/SNV-VP về kỷ luật hành chính"
	raw := fmt.Sprintf("From: Sở Nội vụ <vanban@snv.test>\r\n"+
		"To: ubnd@snv.test\r\n"+
		"Subject: %s\r\n"+
		"Date: Mon, 02 Mar 2026 08:00:00 +0700\r\n"+
		"Message-ID: <cv12@snv.test>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"\r\n"+
		"Kính gửi các đơn vị.\r\n", mime.QEncoding.Encode("utf-8", subject))
	srv.Deliver(t, "ubnd@snv.test", []byte(raw))

	c = dial(t, srv.Addr)
	if err := c.Login("ubnd@snv.test", "secret2").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	if !containsFold(names, "INBOX") {
		t.Fatalf("LIST = %v, want INBOX", names)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("INBOX has %d messages, want 1", sel.NumMessages)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	if len(msgs) != 1 || msgs[0].Envelope == nil {
		t.Fatalf("FETCH returned %d messages", len(msgs))
	}
	if got := msgs[0].Envelope.Subject; got != subject {
		t.Errorf("subject = %q, want %q", got, subject)
	}
	if got := msgs[0].Envelope.MessageID; got != "cv12@snv.test" {
		t.Errorf("Message-ID = %q", got)
	}

	// Delivery went to the addressed user only.
	other := dial(t, srv.Addr)
	if err := other.Login("vanban@snv.test", "mật-khẩu-1").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	if sel, err := other.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 0 {
		t.Fatalf("other user's INBOX: %+v, %v; want 0 messages", sel, err)
	}
}

func TestDovecotStoppedByCleanup(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("use", func(t *testing.T) {
		addr = testenv.Dovecot(t, map[string]string{"a@snv.test": "a"}).Addr
	})
	if addr == "" {
		t.Skip("subtest skipped")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dovecot at %s still accepts connections after its test ended", addr)
	}
}

func dial(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func TestChromium(t *testing.T) {
	path := testenv.Chromium(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Chromium() = %q: %v", path, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("Chromium() = %q is not an executable file", path)
	}
}

func TestFreeAddr(t *testing.T) {
	t.Parallel()
	addr := testenv.FreeAddr(t)
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr() = %q, %v", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr() = %q is not free: %v", addr, err)
	}
	l.Close()
}

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{"true", true},
		{"1", true},
		{"", false},
		{"false", false},
		{"yes-please", false},
	} {
		t.Setenv("CI", tc.env)
		if got := testenv.InCI(); got != tc.want {
			t.Errorf("CI=%q: InCI() = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// recorder is a testing.TB that records how a helper ended the test
// instead of ending the real one.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runHelper runs f with a recorder on its own goroutine, because Fatalf
// and Skipf end the goroutine like the real ones do.
func runHelper(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// A missing binary must fail the test in CI and skip it elsewhere.
func TestMissingBinaryFailsOnlyInCI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("VANTHU_CHROMIUM", "")

	t.Setenv("CI", "true")
	if r := runHelper(t, func(tb testing.TB) { testenv.Chromium(tb) }); !r.failed || r.skipped {
		t.Errorf("CI=true: failed=%v skipped=%v (%s); want a failure", r.failed, r.skipped, r.msg)
	}
	t.Setenv("CI", "")
	if r := runHelper(t, func(tb testing.TB) { testenv.Chromium(tb) }); r.failed || !r.skipped {
		t.Errorf("CI unset: failed=%v skipped=%v (%s); want a skip", r.failed, r.skipped, r.msg)
	}
}
