package stmgr

import (
	"bufio"
	"net"
	"runtime"
	"testing"
)

// Control batches jump the data but keep their own order: a peer told "back
// pressure on" then "off" must end up with it off, and a spout told
// "deactivate" then "activate" must end up active.
func TestPushFrontKeepsControlOrder(t *testing.T) {
	q := newQueue("q", 1<<20, 1<<10, 8<<20, nil)
	data := &batch{enc: encJSON, n: 1, buf: []byte("\t[1]\n")}
	q.push(data, false, false)
	on, off := &batch{enc: encBP, n: 1}, &batch{enc: encBP}
	q.pushFront(on)
	q.pushFront(off)
	got := q.pop(make([]*batch, 0, 8))
	if len(got) != 3 || got[0] != on || got[1] != off || got[2] != data {
		t.Fatalf("order %v", got)
	}
	deact := &batch{enc: encCtl, n: 1, buf: []byte(`{"type":"deactivate"}` + "\n")}
	act := &batch{enc: encCtl, n: 1, buf: []byte(`{"type":"activate"}` + "\n")}
	q.pushFront(deact)
	q.pushFront(act)
	got = q.pop(make([]*batch, 0, 8))
	if len(got) != 2 || got[0] != deact || got[1] != act {
		t.Fatalf("order %v", got)
	}
	// Control lines are not counted, so taking them leaves nothing owed.
	if b, n := q.Depth(); b != 0 || n != 0 {
		t.Fatalf("depth %d bytes %d tuples after draining", b, n)
	}
}

// A peer's old connection that ends after the peer reconnected and said it
// is congested must not clear that back pressure.
func TestOldPeerConnectionKeepsNewBackPressure(t *testing.T) {
	m, _, _ := atLeastOnce(t)
	hello := func(c net.Conn) *bufio.Writer {
		w := bufio.NewWriter(c)
		if err := writeHello(w, []byte(`{"container":2,"topology_id":"id"}`)); err != nil {
			t.Fatal(err)
		}
		return w
	}
	old, oldPeer := net.Pipe()
	cur, curPeer := net.Pipe()
	oldDone := make(chan struct{})
	go func() { _ = m.receive(old); close(oldDone) }()
	go func() { _ = m.receive(cur) }()
	defer curPeer.Close()
	bp := func(w *bufio.Writer, on bool) {
		b := &batch{enc: encBP}
		if on {
			b.n = 1
		}
		if err := writeBatchFrame(w, b); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(on bool) {
		for remoteOn(m, 2) != on {
			runtime.Gosched()
		}
	}
	// The old connection said hello (it was read: its state changed).
	w := hello(oldPeer)
	bp(w, true)
	wait(true)
	bp(w, false)
	wait(false)
	// The peer reconnected and is congested.
	bp(hello(curPeer), true)
	wait(true)
	oldPeer.Close()
	<-oldDone
	if !remoteOn(m, 2) {
		t.Fatal("the old connection's end cleared the back pressure of the new one")
	}
}

func remoteOn(m *Manager, c int32) bool {
	m.bp.mu.Lock()
	defer m.bp.mu.Unlock()
	return m.bp.remote[c]
}
