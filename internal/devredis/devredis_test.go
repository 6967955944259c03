package devredis

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

func TestSnapshotKeepsQueuedTasks(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	snap := filepath.Join(t.TempDir(), "redis.snapshot")
	s, err := Start("127.0.0.1:0", snap, logger)
	if err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClient(asynq.RedisClientOpt{Addr: s.Addr()})
	payload := []byte("Sở Nội vụ \x00\xff binary-safe")
	if _, err := c.Enqueue(asynq.NewTask("dispatch:send", payload), asynq.TaskID("dispatch:send:42")); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	if err := rdb.Set(context.Background(), "expiring", "x", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	rdb.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Start("127.0.0.1:0", snap, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s2.Addr()})
	defer insp.Close()
	info, err := insp.GetTaskInfo("default", "dispatch:send:42")
	if err != nil {
		t.Fatalf("task lost across restart: %v", err)
	}
	if string(info.Payload) != string(payload) || info.State != asynq.TaskStatePending {
		t.Fatalf("task = %q state %v", info.Payload, info.State)
	}
	rdb2 := redis.NewClient(&redis.Options{Addr: s2.Addr()})
	defer rdb2.Close()
	ttl, err := rdb2.TTL(context.Background(), "expiring").Result()
	if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("TTL after restore = %v, %v", ttl, err)
	}
}

func TestKeysExpireWithTheWallClock(t *testing.T) {
	s, err := Start("127.0.0.1:0", "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "lease", "1", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := rdb.Exists(ctx, "lease").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("key with a 300ms TTL still exists after 5s: the dev Redis clock does not advance")
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}
