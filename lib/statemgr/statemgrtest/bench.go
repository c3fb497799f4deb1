package statemgrtest

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/statemgr"
)

// benchData is about the size of a small topology's physical plan.
var benchData = bytes.Repeat([]byte("pplan-bytes-"), 400)

// BenchGet measures Get of an existing node.
func BenchGet(b *testing.B, s statemgr.Store) {
	mustSet(b, s, statemgr.PhysicalPlans, "bench", benchData)
	b.SetBytes(int64(len(benchData)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(context.Background(), statemgr.PhysicalPlans, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchSet measures an overwriting Set.
func BenchSet(b *testing.B, s statemgr.Store) {
	mustSet(b, s, statemgr.PhysicalPlans, "bench", benchData)
	b.SetBytes(int64(len(benchData)))
	b.ResetTimer()
	for b.Loop() {
		if err := s.Set(context.Background(), statemgr.PhysicalPlans, "bench", benchData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchWatchLatency measures the time from the start of a Set on one store
// to the change event on a watch opened through another store on the same
// root (as another process would see it). It also reports the part after
// Set returned, as notify-ns/op.
func BenchWatchLatency(b *testing.B, s statemgr.Store) {
	w := Reopen(b, s)
	mustSet(b, s, statemgr.PhysicalPlans, "bench", []byte("v-start"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := w.Watch(ctx, statemgr.PhysicalPlans, "bench")
	if err != nil {
		b.Fatal(err)
	}
	expect(b, ch, statemgr.EventCreated, []byte("v-start"))
	var afterSet time.Duration
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		want := []byte("v-" + strconv.Itoa(i))
		if err := s.Set(ctx, statemgr.PhysicalPlans, "bench", want); err != nil {
			b.Fatal(err)
		}
		set := time.Now()
		WaitFor(b, ch, "change "+string(want), func(ev statemgr.Event) bool {
			return ev.Type == statemgr.EventChanged && bytes.Equal(ev.Data, want)
		})
		afterSet += time.Since(set)
	}
	b.ReportMetric(float64(afterSet.Nanoseconds())/float64(b.N), "notify-ns/op")
}
