package stmgr

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
)

// lostToPeer serves a connection to a peer that reads the hello and hangs
// up, with tuples of size bytes each queued for it beforehand, and returns
// the interval's metrics of that peer.
func lostToPeer(t *testing.T, tuples, size int) map[string]int64 {
	t.Helper()
	m, _, _ := atLeastOnce(t)
	p := &peer{m: m, id: 2, name: StmgrID(2), changed: make(chan struct{}, 1)}
	p.q = newQueue(p.name, 64<<20, 16<<20, 128<<20, nil)
	m.peers[2] = p
	st := &Stream{ID: "default"}
	line := append(bytes.Repeat([]byte("x"), size-1), '\n')
	for range tuples {
		p.q.push(&batch{enc: encRaw, n: 1, stream: st, buf: line}, false, false)
	}
	p.q.close() // serve returns once the queue is empty
	local, remote := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- p.serve(local) }()
	f, err := readFrame(bufio.NewReader(remote), m.intern)
	if err != nil || f.typ != frameHello {
		t.Fatalf("no hello: %v", err)
	}
	remote.Close()
	if err := <-done; err == nil || err == errClosed {
		t.Fatalf("serve returned %v, want a write error", err)
	}
	got := map[string]int64{}
	for _, d := range m.collectServer().Metrics {
		v, _ := strconv.ParseInt(d.Value, 10, 64)
		got[d.Name] = v
	}
	return map[string]int64{
		"sent":   got["__client_stmgr-2/__tuples_to_stmgrs"],
		"lost":   got["__client_stmgr-2/__tuples_to_stmgrs_lost"],
		"queued": got["__client_stmgr-2/__queued_tuples"],
	}
}

// Tuples whose final flush to a peer failed may not have arrived: they
// count as lost, not sent.
func TestFailedFlushCountsTuplesLost(t *testing.T) {
	got := lostToPeer(t, 10, 100)
	if got["sent"] != 0 || got["lost"] != 10 || got["queued"] != 0 {
		t.Fatalf("10 tuples whose flush failed: %v, want all 10 lost", got)
	}
}

// When a write fails midway, the tuples buffered before it are lost and
// counted so; the rest stay queued for the next connection.
func TestFailedWriteCountsBufferedTuplesLost(t *testing.T) {
	got := lostToPeer(t, 40, 10<<10) // more than the writer's buffer
	if got["sent"] != 0 || got["lost"] == 0 || got["lost"]+got["queued"] != 40 {
		t.Fatalf("40 tuples, write failed midway: %v, want lost + queued = 40, some lost", got)
	}
}
