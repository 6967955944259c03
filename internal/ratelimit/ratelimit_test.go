package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/ratelimit"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// backends are the Redis servers every test runs against: the real one,
// and miniredis whose Lua (gopher-lua) must run the same script.
var backends = map[string]func(t testing.TB) redis.UniversalClient{
	"redis": func(t testing.TB) redis.UniversalClient {
		return client(t, testenv.Redis(t))
	},
	"miniredis": func(t testing.TB) redis.UniversalClient {
		return client(t, miniredis.RunT(t).Addr())
	},
}

func client(t testing.TB, addr string) redis.UniversalClient {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// forEachBackend runs test once per backend, in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, rdb redis.UniversalClient)) {
	t.Helper()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

func reserve(t *testing.T, l *ratelimit.Limiter, keys []string, rates []ratelimit.Rate) time.Duration {
	t.Helper()
	w, err := l.Reserve(context.Background(), keys, rates)
	if err != nil {
		t.Fatalf("Reserve(%v): %v", keys, err)
	}
	return w
}

func TestBurstThenRefused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for _, rate := range []ratelimit.Rate{
			{Limit: 10, Per: time.Second, Burst: 3},
			{Limit: 20, Per: time.Second, Burst: 5},
			{Limit: 1, Per: time.Minute, Burst: 0}, // Burst 0 counts as 1
		} {
			t.Run(fmt.Sprintf("%d/%s/burst%d", rate.Limit, rate.Per, rate.Burst), func(t *testing.T) {
				l := ratelimit.New(rdb, "t:")
				key := []string{t.Name()}
				rates := []ratelimit.Rate{rate}
				interval := rate.Per / time.Duration(rate.Limit)
				start := time.Now()
				for i := range max(rate.Burst, 1) {
					if w := reserve(t, l, key, rates); w != 0 {
						t.Fatalf("event %d of the burst: wait %v, want admitted", i+1, w)
					}
				}
				w := reserve(t, l, key, rates)
				elapsed := time.Since(start)
				// The wait is one interval counted from the first event,
				// so it lies between interval-elapsed and interval. A few
				// ms of slack cover microsecond rounding and the clocks of
				// Redis and of this process.
				if w <= 0 || w > interval || w < interval-elapsed-5*time.Millisecond {
					t.Fatalf("event after the burst: wait %v, want about %v (elapsed %v)", w, interval, elapsed)
				}
				// A refusal consumes nothing: asking again yields no longer wait.
				if w2 := reserve(t, l, key, rates); w2 <= 0 || w2 > w {
					t.Fatalf("second refusal: wait %v, want in (0, %v]", w2, w)
				}
			})
		}
	})
}

func TestLimitersShareBudget(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		// Two workers with their own Limiter (and connection) on one Redis.
		a := ratelimit.New(rdb, "vanthu:rl:")
		b := ratelimit.New(rdb, "vanthu:rl:")
		key := []string{"smtp:mail.example:587"}
		rates := []ratelimit.Rate{{Limit: 1, Per: time.Hour, Burst: 2}}
		if w := reserve(t, a, key, rates); w != 0 {
			t.Fatalf("a first: wait %v", w)
		}
		if w := reserve(t, b, key, rates); w != 0 {
			t.Fatalf("b first: wait %v", w)
		}
		if w := reserve(t, a, key, rates); w == 0 {
			t.Fatal("a admitted a third event within a burst of 2")
		}
		if w := reserve(t, b, key, rates); w == 0 {
			t.Fatal("b admitted a third event within a burst of 2")
		}
	})
}

func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		l := ratelimit.New(rdb, "t:")
		server, domain := "smtp:mail.example:587", "domain:vinhlong.gov.vn"
		slow := ratelimit.Rate{Limit: 1, Per: time.Hour, Burst: 1}
		fast := ratelimit.Rate{Limit: 1, Per: time.Hour, Burst: 5}
		both := []string{server, domain}
		rates := []ratelimit.Rate{slow, fast}

		// Admitted jointly: both keys are charged.
		if w := reserve(t, l, both, rates); w != 0 {
			t.Fatalf("first joint event: wait %v", w)
		}
		if w := reserve(t, l, []string{server}, []ratelimit.Rate{slow}); w == 0 {
			t.Fatal("server key was not charged by the joint event")
		}
		// Refused jointly (server exhausted): the domain key is not charged.
		if w := reserve(t, l, both, rates); w == 0 {
			t.Fatal("joint event admitted although the server key is exhausted")
		}
		for i := range 4 { // 5 burst - 1 charged by the joint admission
			if w := reserve(t, l, []string{domain}, []ratelimit.Rate{fast}); w != 0 {
				t.Fatalf("domain event %d: wait %v; a refused joint event consumed the domain's budget", i+1, w)
			}
		}
		if w := reserve(t, l, []string{domain}, []ratelimit.Rate{fast}); w == 0 {
			t.Fatal("domain admitted more than its burst")
		}
	})
}

func TestKeysAndPrefixesSeparate(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		rate := []ratelimit.Rate{{Limit: 1, Per: time.Hour, Burst: 1}}
		a := ratelimit.New(rdb, "a:")
		b := ratelimit.New(rdb, "b:")
		for _, tc := range []struct {
			l   *ratelimit.Limiter
			key string
		}{
			{a, "domain:vinhlong.gov.vn"},
			{a, "domain:cantho.gov.vn"},
			{b, "domain:vinhlong.gov.vn"},
		} {
			if w := reserve(t, tc.l, []string{tc.key}, rate); w != 0 {
				t.Fatalf("%s first event: wait %v; keys are not separate", tc.key, w)
			}
		}
		if w := reserve(t, a, []string{"domain:vinhlong.gov.vn"}, rate); w == 0 {
			t.Fatal("exhausted key admitted again")
		}
		n, err := rdb.Exists(context.Background(), "a:domain:vinhlong.gov.vn", "b:domain:vinhlong.gov.vn").Result()
		if err != nil || n != 2 {
			t.Fatalf("EXISTS prefixed keys = %d, %v; want 2", n, err)
		}
	})
}

func TestKeysExpire(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		l := ratelimit.New(rdb, "t:")
		rate := ratelimit.Rate{Limit: 2, Per: time.Minute, Burst: 3}
		for range 3 {
			reserve(t, l, []string{"k"}, []ratelimit.Rate{rate})
		}
		ttl, err := rdb.PTTL(context.Background(), "t:k").Result()
		if err != nil {
			t.Fatal(err)
		}
		// Three events at 30 s intervals: the key matters for 90 s at most.
		if ttl <= 0 || ttl > 90*time.Second {
			t.Fatalf("PTTL = %v, want in (0, 90s]", ttl)
		}
	})
}

func TestUnlimited(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		l := ratelimit.New(rdb, "t:")
		for i := range 100 {
			if w := reserve(t, l, []string{"free"}, []ratelimit.Rate{{Limit: 0}}); w != 0 {
				t.Fatalf("unlimited event %d: wait %v", i+1, w)
			}
		}
		// An unlimited key next to a limited one does not lift the limit.
		keys := []string{"free", "tight"}
		rates := []ratelimit.Rate{{}, {Limit: 1, Per: time.Hour, Burst: 1}}
		if w := reserve(t, l, keys, rates); w != 0 {
			t.Fatalf("first: wait %v", w)
		}
		if w := reserve(t, l, keys, rates); w == 0 {
			t.Fatal("limited key ignored next to an unlimited one")
		}
		if n := rdb.Exists(context.Background(), "t:free").Val(); n != 0 {
			t.Fatal("an unlimited key was stored")
		}
	})
	// No Redis is needed when nothing is limited.
	l := ratelimit.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "t:")
	if w, err := l.Reserve(context.Background(), []string{"x"}, []ratelimit.Rate{{Limit: -1}}); w != 0 || err != nil {
		t.Fatalf("unlimited without Redis: %v, %v", w, err)
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(client(t, miniredis.RunT(t).Addr()), "t:")
	r := ratelimit.Rate{Limit: 1, Per: time.Second}
	for name, tc := range map[string]struct {
		keys  []string
		rates []ratelimit.Rate
	}{
		"length mismatch": {[]string{"a", "b"}, []ratelimit.Rate{r}},
		"duplicate key":   {[]string{"a", "a"}, []ratelimit.Rate{r, r}},
	} {
		if _, err := l.Reserve(context.Background(), tc.keys, tc.rates); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRedisDownIsUnavailable(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := ratelimit.New(rdb, "t:")
	m.Close()
	_, err := l.Reserve(context.Background(), []string{"k"}, []ratelimit.Rate{{Limit: 1, Per: time.Second}})
	if got := vanthu.ErrorCodeOf(err); got != vanthu.EUnavailable {
		t.Fatalf("Reserve with Redis down: code %q (%v), want %q", got, err, vanthu.EUnavailable)
	}
	if !vanthu.Retryable(vanthu.ErrorCodeOf(err)) {
		t.Fatal("Redis failure is not retryable")
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		l := ratelimit.New(rdb, "t:")
		keys, rates := []string{"k"}, []ratelimit.Rate{{Limit: 1, Per: time.Hour, Burst: 1}}
		if err := l.Wait(context.Background(), keys, rates); err != nil {
			t.Fatalf("first Wait: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx, keys, rates)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait past the deadline = %v, want DeadlineExceeded", err)
		}
		if el := time.Since(start); el < 50*time.Millisecond {
			t.Fatalf("Wait returned after %v, before its deadline", el)
		}
	})
}

// TestThroughput checks that workers sharing a key together never exceed
// the rate. Only a lower bound on the elapsed time is asserted: an upper
// bound would fail whenever the shared machine is busy.
func TestThroughput(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		const (
			n       = 40
			workers = 4
			limit   = 200
		)
		keys := []string{"smtp:mail.example:587", "domain:snv.test"}
		rates := []ratelimit.Rate{{Limit: limit, Per: time.Second, Burst: 1}, {Limit: 1000, Per: time.Second, Burst: 10}}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			admitted int
			firstErr error
		)
		jobs := make(chan int, n)
		for i := range n {
			jobs <- i
		}
		close(jobs)
		start := time.Now()
		for range workers {
			l := ratelimit.New(rdb, "t:") // each worker its own Limiter
			wg.Go(func() {
				for range jobs {
					err := l.Wait(ctx, keys, rates)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					if err == nil {
						admitted++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if firstErr != nil {
			t.Fatalf("Wait: %v", firstErr)
		}
		if admitted != n {
			t.Fatalf("admitted %d events, want %d", admitted, n)
		}
		if lower := time.Duration(n-1) * time.Second / limit; elapsed < lower {
			t.Fatalf("%d events at %d/s took %v, less than the minimum %v: the limit was exceeded", n, limit, elapsed, lower)
		}
	})
}

func BenchmarkReserve(b *testing.B) {
	rdb := client(b, testenv.Redis(b))
	l := ratelimit.New(rdb, "bench:")
	keys := []string{"smtp:mail.example:587", "domain:snv.test"}
	// High enough that every event is admitted and the script writes.
	rates := []ratelimit.Rate{{Limit: 1_000_000, Per: time.Second, Burst: 1_000_000}, {Limit: 1_000_000, Per: time.Second, Burst: 1_000_000}}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Reserve(ctx, keys, rates); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
