package memstat

import (
	"runtime"
	"testing"
	"time"
)

// TestPeakHeap: a 64 MiB allocation alive while the sampler runs is in
// its peak (the sampler reads at least once before it looks at stop).
func TestPeakHeap(t *testing.T) {
	runtime.GC()
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i)
	}
	stop := make(chan struct{})
	peak := PeakHeap(stop, time.Millisecond)
	close(stop)
	got := <-peak
	runtime.KeepAlive(b)
	if got < 64<<20 {
		t.Fatalf("peak %d bytes, want at least 64 MiB", got)
	}
}
