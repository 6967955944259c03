package smtpsink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/smtpsink"
	"github.com/sonoivu/vanthu/mailer"
)

const from = "vanban@snv.test"

func start(t *testing.T, cfg smtpsink.Config) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sender(t *testing.T, s *smtpsink.Sink, maxIdle int) *mailer.Sender {
	t.Helper()
	snd := mailer.NewSender(mailer.SMTPConfig{
		Host: s.Host(), Port: s.Port(), TLS: mailer.TLSNone, MaxIdle: maxIdle,
		DialTimeout: 10 * time.Second,
	}, nil)
	t.Cleanup(func() { _ = snd.Close() })
	return snd
}

// message is a minimal RFC 5322 message with the given Message-ID and a
// body of about bodySize bytes.
func message(id string, bodySize int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sở Nội vụ <%s>\r\nTo: ubnd@vinhlong.gov.vn\r\nSubject: test\r\nMessage-ID: <%s>\r\n\r\n", from, id)
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len() < bodySize {
		b.WriteString(line)
	}
	b.WriteString("Kính gửi các đơn vị.\r\n")
	return b.Bytes()
}

// byID injects the fault named for each Message-ID.
func byID(faults map[string]smtpsink.Fault) func(int64, string) smtpsink.Fault {
	return func(_ int64, id string) smtpsink.Fault { return faults[id] }
}

func TestAcceptRecords(t *testing.T) {
	t.Parallel()
	s := start(t, smtpsink.Config{})
	snd := sender(t, s, 2)
	msg := message("cv12@snv.test", 100)
	to := []string{"ubnd@vinhlong.gov.vn", "vanthu@cantho.gov.vn"}
	before := time.Now()
	if err := snd.Send(context.Background(), from, to, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 || s.Count() != 1 {
		t.Fatalf("Messages() has %d, Count() = %d; want 1", len(got), s.Count())
	}
	m := got[0]
	if m.From != from || strings.Join(m.To, ",") != strings.Join(to, ",") || m.MessageID != "cv12@snv.test" {
		t.Errorf("recorded From=%q To=%v MessageID=%q", m.From, m.To, m.MessageID)
	}
	if !bytes.Equal(m.Data, msg) {
		t.Errorf("recorded data differs from what was sent:\n%q\nwant\n%q", m.Data, msg)
	}
	if m.At.Before(before) {
		t.Errorf("At = %v, before the send started", m.At)
	}
	if st := s.Stats(); st.Accepted != 1 || st.Connections != 1 || st.DuplicateMessageIDs != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if s.Host() != "127.0.0.1" || s.Addr() != fmt.Sprintf("127.0.0.1:%d", s.Port()) {
		t.Errorf("Host/Port/Addr = %s %d %s", s.Host(), s.Port(), s.Addr())
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault     smtpsink.Fault
		bodySize  int
		code      vanthu.ErrorCode
		smtpCode  int // 0: no SMTP reply expected
		retryable bool
		want      smtpsink.Stats
	}{
		{smtpsink.TempFail, 100, vanthu.EUnavailable, 421, true, smtpsink.Stats{TempFailed: 1}},
		{smtpsink.PermFail, 100, vanthu.EPermanent, 550, false, smtpsink.Stats{PermFailed: 1}},
		{smtpsink.Drop, 100, vanthu.EUnavailable, 0, true, smtpsink.Stats{Dropped: 1}},
		// Large enough that the client is still writing when cut off.
		{smtpsink.Drop, 1 << 20, vanthu.EUnavailable, 0, true, smtpsink.Stats{Dropped: 1}},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.fault, tc.bodySize), func(t *testing.T) {
			t.Parallel()
			s := start(t, smtpsink.Config{Decide: byID(map[string]smtpsink.Fault{"bad@snv.test": tc.fault})})
			snd := sender(t, s, 2)
			ctx := context.Background()
			err := snd.Send(ctx, from, []string{"ubnd@vinhlong.gov.vn"}, message("bad@snv.test", tc.bodySize))
			if err == nil {
				t.Fatal("Send succeeded despite the injected fault")
			}
			if got := vanthu.ErrorCodeOf(err); got != tc.code {
				t.Errorf("code = %q, want %q (%v)", got, tc.code, err)
			}
			if got := vanthu.Retryable(vanthu.ErrorCodeOf(err)); got != tc.retryable {
				t.Errorf("Retryable = %v, want %v", got, tc.retryable)
			}
			var se *smtp.SMTPError
			switch {
			case tc.smtpCode == 0 && errors.As(err, &se):
				t.Errorf("got SMTP reply %d, want a dropped connection", se.Code)
			case tc.smtpCode != 0 && (!errors.As(err, &se) || se.Code != tc.smtpCode):
				t.Errorf("error %v does not carry SMTP code %d", err, tc.smtpCode)
			}
			if s.Count() != 0 || len(s.Messages()) != 0 {
				t.Errorf("refused message recorded: Count() = %d", s.Count())
			}
			// The sender recovers: the next message goes through.
			if err := snd.Send(ctx, from, []string{"ubnd@vinhlong.gov.vn"}, message("good@snv.test", 100)); err != nil {
				t.Fatalf("Send after %s: %v", tc.fault, err)
			}
			st := s.Stats()
			tc.want.Accepted = 1
			tc.want.Connections = st.Connections // checked below
			if st != tc.want {
				t.Errorf("Stats = %+v, want %+v", st, tc.want)
			}
			// A dropped connection cannot be reused; the others can.
			if wantConns := map[bool]int{true: 2, false: 1}[tc.fault == smtpsink.Drop]; st.Connections != wantConns {
				t.Errorf("Connections = %d, want %d", st.Connections, wantConns)
			}
			if m := s.Messages(); len(m) != 1 || m[0].MessageID != "good@snv.test" {
				t.Errorf("Messages() = %+v", m)
			}
		})
	}
}

func TestDuplicateMessageIDs(t *testing.T) {
	t.Parallel()
	s := start(t, smtpsink.Config{})
	snd := sender(t, s, 1)
	for _, id := range []string{"a@snv.test", "b@snv.test", "a@snv.test", "a@snv.test"} {
		if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, message(id, 10)); err != nil {
			t.Fatalf("Send %s: %v", id, err)
		}
	}
	if st := s.Stats(); st.Accepted != 4 || st.DuplicateMessageIDs != 2 {
		t.Fatalf("Stats = %+v, want 4 accepted, 2 duplicates", st)
	}
}

func TestSequenceAndMessageIDPassedToDecide(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []string
	)
	s := start(t, smtpsink.Config{Decide: func(seq int64, id string) smtpsink.Fault {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%d:%s", seq, id))
		return smtpsink.None
	}})
	snd := sender(t, s, 1)
	for _, id := range []string{"m1@snv.test", "m2@snv.test"} {
		if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, message(id, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// A message without a Message-ID gets "".
	if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, []byte("Subject: none\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "1:m1@snv.test 2:m2@snv.test 3:"; strings.Join(got, " ") != want {
		t.Fatalf("Decide calls = %v, want %s", got, want)
	}
}

func TestWaitCount(t *testing.T) {
	t.Parallel()
	s := start(t, smtpsink.Config{})
	snd := sender(t, s, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitCount(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitCount with nothing sent = %v, want DeadlineExceeded", err)
	}

	const n = 5
	waited := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		waited <- s.WaitCount(ctx, n)
	}()
	for i := range n {
		select {
		case err := <-waited:
			t.Fatalf("WaitCount returned (%v) after only %d messages", err, s.Count())
		default:
		}
		if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, message(fmt.Sprintf("w%d@snv.test", i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-waited; err != nil {
		t.Fatalf("WaitCount: %v", err)
	}
	if s.Count() < n {
		t.Fatalf("WaitCount returned with Count() = %d", s.Count())
	}

	// Closing the sink releases a waiter that can never be satisfied.
	go func() { waited <- s.WaitCount(context.Background(), n+1) }()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-waited; !errors.Is(err, smtpsink.ErrClosed) {
		t.Fatalf("WaitCount after Close = %v, want ErrClosed", err)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 50 * time.Millisecond
	s := start(t, smtpsink.Config{Latency: latency})
	snd := sender(t, s, 1)
	begin := time.Now()
	if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, message("l@snv.test", 10)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(begin); el < latency {
		t.Fatalf("Send took %v, less than the latency %v", el, latency)
	}
}

func TestCloseStopsListening(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	var once sync.Once
	s, err := smtpsink.Start(smtpsink.Config{
		Latency: time.Hour,
		Decide: func(int64, string) smtpsink.Fault {
			once.Do(func() { close(arrived) })
			return smtpsink.None
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A send stuck in the hour-long latency must not hold Close up.
	snd := sender(t, s, 1)
	sent := make(chan error, 1)
	go func() {
		sent <- snd.Send(context.Background(), from, []string{"x@snv.test"}, message("c@snv.test", 10))
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("message never reached the sink")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-sent; err == nil {
		t.Error("Send succeeded although the sink closed before replying")
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("sink still accepts connections after Close")
	}
}

func TestRandomFaults(t *testing.T) {
	t.Parallel()
	const n = 20000
	const temp, perm, drop = 0.10, 0.05, 0.03
	a := smtpsink.RandomFaults(7, temp, perm, drop)
	b := smtpsink.RandomFaults(7, temp, perm, drop)
	other := smtpsink.RandomFaults(8, temp, perm, drop)
	counts := map[smtpsink.Fault]int{}
	differs := false
	for seq := int64(1); seq <= n; seq++ {
		id := fmt.Sprintf("dispatch-%d@snv.test", seq)
		f := a(seq, id)
		if g := b(seq, id); g != f {
			t.Fatalf("same seed, seq %d: %v then %v", seq, f, g)
		}
		if other(seq, id) != f {
			differs = true
		}
		counts[f]++
		// Permanent refusals stick to the Message-ID whatever the sequence.
		if f == smtpsink.PermFail {
			for _, later := range []int64{seq + 1, seq + 1000, 3 * n} {
				if a(later, id) != smtpsink.PermFail {
					t.Fatalf("%s refused with 550 at seq %d but not at %d", id, seq, later)
				}
			}
		}
	}
	if !differs {
		t.Error("seeds 7 and 8 gave identical faults")
	}
	// Rates: temp and drop apply to messages not refused permanently.
	for _, c := range []struct {
		f    smtpsink.Fault
		rate float64
	}{
		{smtpsink.PermFail, perm},
		{smtpsink.TempFail, temp * (1 - perm)},
		{smtpsink.Drop, drop * (1 - perm)},
	} {
		got := float64(counts[c.f]) / n
		// 5 standard deviations of a binomial proportion.
		if tol := 5 * math.Sqrt(c.rate*(1-c.rate)/n); math.Abs(got-c.rate) > tol {
			t.Errorf("%v rate = %.4f, want %.4f ± %.4f", c.f, got, c.rate, tol)
		}
	}
	if none := smtpsink.RandomFaults(1, 0, 0, 0); none(1, "x") != smtpsink.None {
		t.Error("zero rates injected a fault")
	}
}

// TestConcurrentLoad sends many messages over many connections with random
// faults and retries, checking that every outcome the client saw matches
// the sink's counters and that each message ends up accepted exactly once
// unless refused for good.
func TestConcurrentLoad(t *testing.T) {
	t.Parallel()
	const (
		workers  = 20
		messages = 1500
	)
	s := start(t, smtpsink.Config{Decide: smtpsink.RandomFaults(42, 0.1, 0.05, 0.05)})
	snd := sender(t, s, workers)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ids := make(chan string, messages)
	for i := range messages {
		ids <- fmt.Sprintf("load-%d@snv.test", i)
	}
	close(ids)
	var (
		mu                       sync.Mutex
		sent, permanent, retries int
		attemptsByCode           = map[vanthu.ErrorCode]int{}
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range ids {
				msg := message(id, 2000)
				for attempt := 1; ; attempt++ {
					err := snd.Send(ctx, from, []string{"x@snv.test"}, msg)
					mu.Lock()
					attemptsByCode[vanthu.ErrorCodeOf(err)]++
					switch {
					case err == nil:
						sent++
					case !vanthu.Retryable(vanthu.ErrorCodeOf(err)):
						permanent++
					default:
						retries++
					}
					mu.Unlock()
					if err == nil || !vanthu.Retryable(vanthu.ErrorCodeOf(err)) || ctx.Err() != nil || attempt == 20 {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("load test timed out")
	}

	st := s.Stats()
	t.Logf("stats %+v; client: %d sent, %d refused, %d retried", st, sent, permanent, retries)
	if st.Accepted != sent || s.Count() != sent {
		t.Errorf("sink accepted %d (Count %d), client saw %d successes", st.Accepted, s.Count(), sent)
	}
	if st.PermFailed != permanent || attemptsByCode[vanthu.EPermanent] != permanent {
		t.Errorf("sink refused %d permanently, client saw %d", st.PermFailed, permanent)
	}
	if st.TempFailed+st.Dropped != retries {
		t.Errorf("sink temp-failed %d and dropped %d, client saw %d retryable errors", st.TempFailed, st.Dropped, retries)
	}
	if sent+permanent != messages {
		t.Errorf("%d sent + %d refused != %d messages", sent, permanent, messages)
	}
	if st.DuplicateMessageIDs != 0 {
		t.Errorf("%d duplicate Message-IDs, want 0", st.DuplicateMessageIDs)
	}
	if st.TempFailed == 0 || st.Dropped == 0 || st.PermFailed == 0 {
		t.Errorf("not every fault was exercised: %+v", st)
	}
	if st.Connections > messages/2 {
		t.Errorf("%d connections for %d messages: connections are not reused", st.Connections, messages)
	}
	seen := map[string]bool{}
	for _, m := range s.Messages() {
		if seen[m.MessageID] {
			t.Fatalf("%s recorded twice", m.MessageID)
		}
		seen[m.MessageID] = true
	}
}

func BenchmarkSend(b *testing.B) {
	s, err := smtpsink.Start(smtpsink.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	snd := mailer.NewSender(mailer.SMTPConfig{Host: s.Host(), Port: s.Port(), TLS: mailer.TLSNone, MaxIdle: 8}, nil)
	defer snd.Close()
	msg := message("bench@snv.test", 20_000)
	b.SetBytes(int64(len(msg)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := snd.Send(context.Background(), from, []string{"x@snv.test"}, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
