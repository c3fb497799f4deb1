package stmgr

import (
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/instance"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// atLeastOnce builds a manager for pipeline() (spout task 1 -> bolt tasks
// 2, 3) with tracking on, bolt task 2 holding its input as a JSON bolt.
func atLeastOnce(t *testing.T) (*Manager, *local, *local) {
	t.Helper()
	p := pipeline(t, apipb.Grouping_SHUFFLE, native.ModeJSON)
	p.AtLeastOnce = true
	m, err := New(Config{Plan: p, Container: 1, TopologyID: "id", Log: zerolog.New(os.Stderr)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	spout, bolt := m.locals[p.Task(1).Slot], m.locals[p.Task(2).Slot]
	bolt.flight = newFlight()
	return m, spout, bolt
}

// A bolt's tuple anchored to two inputs of the same spout message (a join
// of two copies of one tuple), or naming the same anchor twice, keeps the
// message pending until the child itself is acked, then completes it.
func TestAnchorsSharingARootComplete(t *testing.T) {
	for _, twice := range []bool{false, true} {
		_, spout, bolt := atLeastOnce(t)
		const rk, k1, k2, child = 0x11, 0x22, 0x44, 0x88
		r := root{task: 1, key: rk}
		xor := uint64(k1)
		if !twice {
			xor ^= k2
		}
		spout.acker.register(rk, []byte(`"m"`), 0, xor)
		id1 := bolt.flight.add(&held{roots: []root{r}, key: k1})
		ids := []uint64{id1, id1}
		if !twice {
			ids[1] = bolt.flight.add(&held{roots: []root{r}, key: k2})
		}
		roots := bolt.flight.anchor(ids, child, nil)
		if len(roots) != 1 || roots[0] != r {
			t.Fatalf("roots %v", roots)
		}
		e := newEmitter(bolt)
		for _, id := range ids[:map[bool]int{false: 2, true: 1}[twice]] {
			e.ackFail(&instance.Message{Kind: instance.KindAck, TupleID: id})
		}
		e.acks.flush()
		if spout.acker.inFlight() != 1 {
			t.Fatalf("twice=%v: message acked while its child is still in flight", twice)
		}
		// The child is acked where it went.
		spout.acker.apply(ackKind, rk, child)
		if n := spout.acker.inFlight(); n != 0 {
			t.Errorf("twice=%v: message still pending after its whole tree was acked", twice)
		}
	}
}

// A JSON bolt that never acks must not make the executor hold its tuples
// past the message timeout.
func TestHeldTuplesExpire(t *testing.T) {
	m, _, bolt := atLeastOnce(t)
	now := time.Now()
	bolt.flight.add(&held{roots: []root{{task: 1, key: 1}}, key: 2, at: now})
	m.expire(now.Add(time.Duration(m.plan.MessageTimeoutSecs) * time.Second))
	bolt.flight.mu.Lock()
	n := len(bolt.flight.tuples)
	bolt.flight.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d tuples still held after the message timeout", n)
	}
}

// topology.max.spout.pending bounds the messages in flight even when the
// spout writes many of them at once (one read of its stdout).
func TestMaxSpoutPendingWithinOneRead(t *testing.T) {
	p := pipeline(t, apipb.Grouping_SHUFFLE, native.ModeJSON)
	p.AtLeastOnce, p.MaxSpoutPending = true, 2
	m, err := New(Config{Plan: p, Container: 1, TopologyID: "id", Log: zerolog.New(os.Stderr)})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Close()
	m.SetActive(true)
	// The bolts are not attached: nothing is acked.
	var lines string
	for i := range 5 {
		lines += `{"emit":["x"],"id":` + string(rune('0'+i)) + "}\n"
	}
	done := make(chan error, 1)
	go func() { done <- m.RunInstance(1, io.Discard, strings.NewReader(lines), nil, nil, nil) }()
	spout := m.locals[p.Task(1).Slot]
	for spout.acker.inFlight() < 2 {
		runtime.Gosched()
	}
	m.Shutdown()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := spout.stats.emit[0].Load(); n != 2 {
		t.Fatalf("%d messages emitted with max.spout.pending 2", n)
	}
}
