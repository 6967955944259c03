package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu/internal/cpustat"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// BenchmarkQueueFloor is what the queue alone costs a dispatch, whatever
// the handler does: the fan-out's enqueue (Client.EnqueueSend, with its
// task ID) and a server at the send concurrency (20) that dequeues and
// completes send tasks whose handler does nothing, on a real redis-server.
// cpu-µs/task counts this process and Redis; BENCHMARKS.md sets it against
// the budget the `bench send` ratio target leaves for the whole pipeline.
//
//	go test -run XXX -bench QueueFloor -benchtime 6000x -count 3 ./worker/
func BenchmarkQueueFloor(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(b)})
	defer rdb.Close()
	jobs := NewClient(rdb)
	defer jobs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	n := int64(b.N)
	var done atomic.Int64
	all := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeDispatchSend, func(context.Context, *asynq.Task) error {
		if done.Add(1) == n {
			close(all)
		}
		return nil
	})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 20, Queues: Queues, LogLevel: asynq.ErrorLevel})
	cpu := func() time.Duration {
		info, err := rdb.Info(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		return cpustat.Process() + cpustat.Redis(info)
	}
	before := cpu()
	b.ResetTimer()
	enqueued := make(chan error, 1)
	go func() {
		for i := range n {
			if err := jobs.EnqueueSend(ctx, []int64{i + 1}); err != nil {
				enqueued <- err
				return
			}
		}
		enqueued <- nil
	}()
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	if err := <-enqueued; err != nil {
		b.Fatal(err)
	}
	select {
	case <-all:
	case <-ctx.Done():
		b.Fatalf("%d of %d tasks done: %v", done.Load(), n, ctx.Err())
	}
	b.StopTimer()
	b.ReportMetric(float64((cpu()-before).Microseconds())/float64(n), "cpu-µs/task")
}
