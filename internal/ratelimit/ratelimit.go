// Package ratelimit is a rate limiter shared by every worker process: it
// keeps its state in Redis, so a limit of "20 messages a second to this
// SMTP server" holds for the whole fleet and not per process. Asynq has no
// such limiter built in, and an in-process one (x/time/rate) would let n
// workers send n times the configured rate.
//
// The algorithm is GCRA, the generic cell rate algorithm (a leaky bucket
// expressed as a single timestamp): each key stores its "theoretical
// arrival time" (TAT), the instant at which the bucket would be empty
// again. An event at time now is admitted when
//
//	max(TAT, now) + interval - interval*burst <= now
//
// where interval = Per/Limit, and admitting it advances TAT by interval.
// Otherwise the caller must wait the difference. One timestamp per key, no
// counters to reset, and the wait is exact rather than polled.
//
// All keys of one Reserve are checked and updated in one Lua script, so an
// event is admitted under every key or under none: a refusal by the
// destination domain's limit does not consume a slot of the SMTP server's
// limit. The clock is Redis's TIME, read inside the script, so that workers
// on machines with skewed clocks still agree. Keys expire (PX) once their
// TAT has passed, when they carry no more information than a missing key.
//
// With Redis Cluster all keys of one Reserve must hash to one slot: give
// the limiter a prefix containing a hash tag, such as "{ratelimit}:".
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu"
)

// Rate is a limit of Limit events per Per, of which up to Burst may happen
// back to back after a quiet period. Limit <= 0 means unlimited; Burst < 1
// counts as 1. Rates finer than one event per microsecond are treated as
// one per microsecond, the resolution of Redis's clock.
type Rate struct {
	Limit int
	Per   time.Duration
	Burst int
}

// unlimited reports whether r imposes no limit.
func (r Rate) unlimited() bool { return r.Limit <= 0 || r.Per <= 0 }

// intervalMicros is the time between two events at the sustained rate, in
// whole microseconds so that the TAT stored in Redis stays an exact
// integer (Lua numbers are doubles).
func (r Rate) intervalMicros() int64 {
	us := r.Per.Microseconds() / int64(r.Limit)
	return max(us, 1)
}

func (r Rate) burst() int64 { return int64(max(r.Burst, 1)) }

// gcra checks every key and, only if all admit the event, advances them.
// KEYS are the limited keys; ARGV holds, per key, the emission interval and
// the burst. It returns 0 when admitted, else the wait in microseconds
// until every key would admit.
//
// TAT values are written with %.0f because Lua's default number formatting
// (%.14g) would round a microsecond timestamp.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local wait = 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
  if tat < now then tat = now end
  local newTat = tat + interval
  local allowAt = newTat - interval * burst
  if allowAt > now and allowAt - now > wait then
    wait = allowAt - now
  end
  tats[i] = newTat
end
if wait > 0 then
  return wait
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
end
return 0
`)

// Limiter admits events under named keys at configured rates. Every
// Limiter on the same Redis with the same prefix shares one budget per key.
// It is safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Limiter that stores its keys in rdb under prefix (for
// example "vanthu:ratelimit:").
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// Reserve admits one event under every key at once (for example
// "smtp:mail.example:587" and "domain:vinhlong.gov.vn"), each at the rate
// of the same index in rates, or under none of them. It returns 0 when the
// event was admitted, else how long to wait before trying again; a refused
// event consumes nothing. Keys with an unlimited rate are not consulted.
//
// Redis failures are *vanthu.Error with code EUnavailable, so a task that
// cannot reach the limiter is retried rather than sent unthrottled.
func (l *Limiter) Reserve(ctx context.Context, keys []string, rates []Rate) (time.Duration, error) {
	if len(keys) != len(rates) {
		return 0, fmt.Errorf("ratelimit: %d keys but %d rates", len(keys), len(rates))
	}
	full := make([]string, 0, len(keys))
	args := make([]any, 0, 2*len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		if seen[k] {
			// The script reads every key before writing any, so a
			// repeated key would be charged once while checked twice.
			return 0, fmt.Errorf("ratelimit: key %q given twice", k)
		}
		seen[k] = true
		r := rates[i]
		if r.unlimited() {
			continue
		}
		full = append(full, l.prefix+k)
		args = append(args, strconv.FormatInt(r.intervalMicros(), 10), strconv.FormatInt(r.burst(), 10))
	}
	if len(full) == 0 {
		return 0, nil
	}
	us, err := gcra.Run(ctx, l.rdb, full, args...).Int64()
	if err != nil {
		return 0, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Không kiểm tra được giới hạn tốc độ gửi (Redis).", Err: fmt.Errorf("ratelimit: reserve %v: %w", keys, err)}
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Wait blocks until Reserve admits the event under all keys, and returns
// ctx.Err() if ctx ends first. Concurrent waiters that wake together simply
// race again: the losers get a fresh wait from Redis.
func (l *Limiter) Wait(ctx context.Context, keys []string, rates []Rate) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		wait, err := l.Reserve(ctx, keys, rates)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if wait == 0 {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
