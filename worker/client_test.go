package worker

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestEnqueueOverArchived: asking for minutes again after a finalize task
// failed for good runs it again, while asking while one waits does not
// make a second.
func TestEnqueueOverArchived(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	c := NewClient(rdb)
	t.Cleanup(func() { c.Close() })
	insp := c.Inspector()
	id := finalizeTaskID(7)
	state := func() asynq.TaskState {
		t.Helper()
		info, err := insp.GetTaskInfo(QueueDefault, id)
		if err != nil {
			t.Fatalf("GetTaskInfo: %v", err)
		}
		return info.State
	}
	count := func() int {
		t.Helper()
		info, err := insp.GetQueueInfo(QueueDefault)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size
	}

	for range 2 {
		if err := c.EnqueueInspectionFinalize(ctx, 7, 1, "kiemtra"); err != nil {
			t.Fatal(err)
		}
	}
	if state() != asynq.TaskStatePending || count() != 1 {
		t.Fatalf("after two requests: %v, %d tasks; want one pending", state(), count())
	}
	if err := insp.ArchiveTask(QueueDefault, id); err != nil {
		t.Fatal(err)
	}
	if state() != asynq.TaskStateArchived {
		t.Fatalf("state %v, want archived", state())
	}
	if err := c.EnqueueInspectionFinalize(ctx, 7, 1, "kiemtra"); err != nil {
		t.Fatal(err)
	}
	if state() != asynq.TaskStatePending || count() != 1 {
		t.Fatalf("after asking again: %v, %d tasks; want the archived one replaced by one pending", state(), count())
	}
}
