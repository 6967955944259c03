// Package memstat measures a piece of work's peak memory for benchmarks:
// the live heap, sampled while the work runs, since the Go runtime keeps
// no high-water mark of it.
package memstat

import (
	"runtime/metrics"
	"time"
)

// PeakHeap samples the heap's objects (live, and dead ones not yet swept)
// every interval until stop is closed, then sends the peak in bytes on the
// returned channel.
func PeakHeap(stop <-chan struct{}, every time.Duration) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				res <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return res
}
