// Package statemgrtest is the conformance suite every statemgr backend must
// pass, plus shared benchmarks, so that the local file system and ZooKeeper
// behave the same to the tools built on them.
package statemgrtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/statemgr"
)

// EventTimeout bounds every wait for a watch event. It only guards against a
// hang: events normally arrive within milliseconds.
const EventTimeout = 15 * time.Second

// Opener returns a fresh, initialised and empty store; it must close the
// store at test cleanup. statemgr.Open(store.URI()) must reach the same data,
// so the backend has to be registered.
type Opener func(t *testing.T) statemgr.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"InitIdempotent", testInit},
		{"URIReachesSameStore", testURI},
		{"CreateGet", testCreateGet},
		{"SetOverwrites", testSet},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidNames", testInvalidNames},
		{"BinaryAndLargeData", testBinaryData},
		{"AtomicVisibility", testAtomicVisibility},
		{"ConcurrentCreateOneWins", testConcurrentCreate},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Ephemeral", testEphemeral},
		{"LockContention", testLockContention},
		{"LockWaitsForRelease", testLockWaits},
		{"LockCancel", testLockCancel},
		{"WatchSequence", testWatchSequence},
		{"WatchInitialState", testWatchInitial},
		{"WatchRapidWritesInOrder", testWatchRapid},
		{"WatchManyWatchers", testWatchMany},
		{"WatchChildren", testWatchChildren},
		{"WatchCancel", testWatchCancel},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func bg() context.Context { return context.Background() }

// Reopen opens a second store on the same root through its URI, closed at
// test cleanup: another process's view of the same state.
func Reopen(t testing.TB, s statemgr.Store) statemgr.Store {
	t.Helper()
	opts := statemgr.DefaultOptions()
	opts.InitTree = false
	o, err := statemgr.Open(bg(), s.URI(), opts)
	if err != nil {
		t.Fatalf("reopen %s: %v", s.URI(), err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func mustSet(t testing.TB, s statemgr.Store, k statemgr.Kind, name string, data []byte) {
	t.Helper()
	if err := s.Set(bg(), k, name, data); err != nil {
		t.Fatalf("Set(%s, %s): %v", k, name, err)
	}
}

func mustGet(t testing.TB, s statemgr.Store, k statemgr.Kind, name string) []byte {
	t.Helper()
	b, err := s.Get(bg(), k, name)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", k, name, err)
	}
	return b
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// Next returns the next event or fails the test after EventTimeout.
func Next(t testing.TB, ch <-chan statemgr.Event) statemgr.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed while an event was expected")
		}
		return ev
	case <-time.After(EventTimeout):
		t.Fatalf("no watch event within %s", EventTimeout)
	}
	panic("unreachable")
}

// WaitFor reads events until one satisfies ok (returning it), failing the
// test after EventTimeout. Events that do not match are skipped.
func WaitFor(t testing.TB, ch <-chan statemgr.Event, what string, ok func(statemgr.Event) bool) statemgr.Event {
	t.Helper()
	deadline := time.After(EventTimeout)
	var seen []string
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("watch channel closed while waiting for %s; saw %v", what, seen)
			}
			if ok(ev) {
				return ev
			}
			seen = append(seen, describe(ev))
		case <-deadline:
			t.Fatalf("no event %s within %s; saw %v", what, EventTimeout, seen)
		}
	}
}

func describe(ev statemgr.Event) string {
	switch ev.Type {
	case statemgr.EventChildren:
		return fmt.Sprintf("%s%v", ev.Type, ev.Children)
	case statemgr.EventCreated, statemgr.EventChanged:
		if len(ev.Data) > 40 {
			return fmt.Sprintf("%s(%d bytes)", ev.Type, len(ev.Data))
		}
		return fmt.Sprintf("%s(%q)", ev.Type, ev.Data)
	}
	return string(ev.Type)
}

// expect reads the next non-reconnect event and checks its type and data.
func expect(t testing.TB, ch <-chan statemgr.Event, typ statemgr.EventType, data []byte) {
	t.Helper()
	ev := Next(t, ch)
	for ev.Type == statemgr.EventReconnected {
		ev = Next(t, ch)
	}
	if ev.Type != typ || !bytes.Equal(ev.Data, data) {
		t.Fatalf("event %s, want %s", describe(ev), describe(statemgr.Event{Type: typ, Data: data}))
	}
	if ev.Time.IsZero() {
		t.Errorf("event %s has no time", describe(ev))
	}
}

func testInit(t *testing.T, open Opener) {
	s := open(t)
	for range 2 {
		if err := s.Init(bg()); err != nil {
			t.Fatalf("Init: %v", err)
		}
	}
	for _, k := range statemgr.Kinds {
		names, err := s.List(bg(), k)
		if err != nil || len(names) != 0 {
			t.Fatalf("List(%s) on a new tree = %v, %v; want empty", k, names, err)
		}
	}
}

func testURI(t *testing.T, open Opener) {
	s := open(t)
	if s.Root() == "" || s.URI() == "" {
		t.Fatalf("Root %q, URI %q: want both set", s.Root(), s.URI())
	}
	mustSet(t, s, statemgr.Topologies, "t1", []byte("one"))
	o := Reopen(t, s)
	if o.URI() != s.URI() || o.Root() != s.Root() {
		t.Errorf("reopened store: URI %q root %q; want %q %q", o.URI(), o.Root(), s.URI(), s.Root())
	}
	if got := mustGet(t, o, statemgr.Topologies, "t1"); string(got) != "one" {
		t.Fatalf("other store reads %q, want one", got)
	}
}

func testCreateGet(t *testing.T, open Opener) {
	s := open(t)
	_, err := s.Get(bg(), statemgr.PhysicalPlans, "nope")
	wantErr(t, "Get of a missing node", err, statemgr.ErrNotFound)

	data := []byte("plan-1")
	if err := s.Create(bg(), statemgr.PhysicalPlans, "t1", data, statemgr.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	data[0] = 'X' // the store must not keep the caller's slice
	if got := mustGet(t, s, statemgr.PhysicalPlans, "t1"); string(got) != "plan-1" {
		t.Fatalf("Get = %q, want plan-1", got)
	}
	err = s.Create(bg(), statemgr.PhysicalPlans, "t1", []byte("plan-2"), statemgr.CreateOptions{})
	wantErr(t, "second Create", err, statemgr.ErrExists)
	if got := mustGet(t, s, statemgr.PhysicalPlans, "t1"); string(got) != "plan-1" {
		t.Fatalf("failed Create changed the node to %q", got)
	}
	// Same name under another kind is another node.
	_, err = s.Get(bg(), statemgr.PackingPlans, "t1")
	wantErr(t, "Get under another kind", err, statemgr.ErrNotFound)
}

func testSet(t *testing.T, open Opener) {
	s := open(t)
	mustSet(t, s, statemgr.ExecutionState, "t1", []byte("v1"))
	if got := mustGet(t, s, statemgr.ExecutionState, "t1"); string(got) != "v1" {
		t.Fatalf("Get = %q, want v1", got)
	}
	mustSet(t, s, statemgr.ExecutionState, "t1", []byte("version-2"))
	mustSet(t, s, statemgr.ExecutionState, "t1", []byte("v3"))
	if got := mustGet(t, s, statemgr.ExecutionState, "t1"); string(got) != "v3" {
		t.Fatalf("Get after overwrites = %q, want v3", got)
	}
	err := s.Create(bg(), statemgr.ExecutionState, "t1", []byte("x"), statemgr.CreateOptions{})
	wantErr(t, "Create over a Set node", err, statemgr.ErrExists)
}

func testDelete(t *testing.T, open Opener) {
	s := open(t)
	mustSet(t, s, statemgr.Schedulers, "t1", []byte("loc"))
	for range 2 { // the second delete finds nothing, which is fine
		if err := s.Delete(bg(), statemgr.Schedulers, "t1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	_, err := s.Get(bg(), statemgr.Schedulers, "t1")
	wantErr(t, "Get after Delete", err, statemgr.ErrNotFound)
	if err := s.Delete(bg(), statemgr.Locks, statemgr.LockPath("t1", "updateTopology")); err != nil {
		t.Fatalf("Delete of a missing lock: %v", err)
	}
	// A deleted node can be created again.
	if err := s.Create(bg(), statemgr.Schedulers, "t1", []byte("again"), statemgr.CreateOptions{}); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
}

func testList(t *testing.T, open Opener) {
	s := open(t)
	for _, n := range []string{"zeta", "alpha", "Mid-1", "with.dot", "under_score"} {
		mustSet(t, s, statemgr.Topologies, n, []byte("x"))
	}
	mustSet(t, s, statemgr.PhysicalPlans, "other", []byte("x"))
	got, err := s.List(bg(), statemgr.Topologies)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Mid-1", "alpha", "under_score", "with.dot", "zeta"}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if err := s.Delete(bg(), statemgr.Topologies, "alpha"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.List(bg(), statemgr.Topologies)
	if slices.Contains(got, "alpha") || len(got) != 4 {
		t.Fatalf("List after Delete = %q", got)
	}
	_, err = s.List(bg(), statemgr.Kind("nodes"))
	wantErr(t, "List of an unknown kind", err, statemgr.ErrInvalidName)
}

func testInvalidNames(t *testing.T, open Opener) {
	s := open(t)
	ctx := bg()
	for _, name := range []string{"", ".", "..", "a/b", "/abs", "nul\x00byte"} {
		_, err := s.Get(ctx, statemgr.Topologies, name)
		wantErr(t, fmt.Sprintf("Get(%q)", name), err, statemgr.ErrInvalidName)
		err = s.Set(ctx, statemgr.Topologies, name, []byte("x"))
		wantErr(t, fmt.Sprintf("Set(%q)", name), err, statemgr.ErrInvalidName)
		err = s.Create(ctx, statemgr.Topologies, name, []byte("x"), statemgr.CreateOptions{})
		wantErr(t, fmt.Sprintf("Create(%q)", name), err, statemgr.ErrInvalidName)
		err = s.Delete(ctx, statemgr.Topologies, name)
		wantErr(t, fmt.Sprintf("Delete(%q)", name), err, statemgr.ErrInvalidName)
		_, err = s.Watch(ctx, statemgr.Topologies, name)
		wantErr(t, fmt.Sprintf("Watch(%q)", name), err, statemgr.ErrInvalidName)
		_, err = s.Lock(ctx, name, "updateTopology", 0)
		wantErr(t, fmt.Sprintf("Lock(%q)", name), err, statemgr.ErrInvalidName)
		_, err = s.Lock(ctx, "t1", name, 0)
		wantErr(t, fmt.Sprintf("Lock(t1, %q)", name), err, statemgr.ErrInvalidName)
	}
	for _, k := range []statemgr.Kind{"", "bogus", "topologies/x", "../topologies"} {
		_, err := s.Get(ctx, k, "t1")
		wantErr(t, fmt.Sprintf("Get kind %q", k), err, statemgr.ErrInvalidName)
		err = s.Set(ctx, k, "t1", []byte("x"))
		wantErr(t, fmt.Sprintf("Set kind %q", k), err, statemgr.ErrInvalidName)
		_, err = s.WatchChildren(ctx, k)
		wantErr(t, fmt.Sprintf("WatchChildren kind %q", k), err, statemgr.ErrInvalidName)
	}
	// Nothing was written anywhere.
	for _, k := range statemgr.Kinds {
		if names, err := s.List(ctx, k); err != nil || len(names) != 0 {
			t.Fatalf("List(%s) after invalid writes = %q, %v", k, names, err)
		}
	}
}

func testBinaryData(t *testing.T, open Opener) {
	s := open(t)
	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0, 0x80}
	mustSet(t, s, statemgr.PackingPlans, "bin", bin)
	if got := mustGet(t, s, statemgr.PackingPlans, "bin"); !bytes.Equal(got, bin) {
		t.Fatalf("Get = %x, want %x", got, bin)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 512*1024/16)
	mustSet(t, s, statemgr.PackingPlans, "big", big)
	if got := mustGet(t, s, statemgr.PackingPlans, "big"); !bytes.Equal(got, big) {
		t.Fatalf("Get of %d bytes returned %d bytes", len(big), len(got))
	}
}

// testAtomicVisibility overwrites a node with two large payloads while
// readers check that they only ever see one of them whole.
func testAtomicVisibility(t *testing.T, open Opener) {
	s := open(t)
	r := Reopen(t, s)
	a := bytes.Repeat([]byte{'a'}, 256*1024)
	b := bytes.Repeat([]byte{'b'}, 200*1024)
	mustSet(t, s, statemgr.PhysicalPlans, "t", a)
	const writes = 60
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := r.Get(bg(), statemgr.PhysicalPlans, "t")
				if err != nil {
					errs <- fmt.Errorf("Get during overwrites: %w", err)
					return
				}
				if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					errs <- fmt.Errorf("Get saw a partial or mixed value (%d bytes)", len(got))
					return
				}
			}
		}()
	}
	for i := range writes {
		data := a
		if i%2 == 0 {
			data = b
		}
		mustSet(t, s, statemgr.PhysicalPlans, "t", data)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testConcurrentCreate(t *testing.T, open Opener) {
	s := open(t)
	stores := []statemgr.Store{s, Reopen(t, s), Reopen(t, s)}
	const n = 12
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = stores[i%len(stores)].Create(bg(), statemgr.Topologies, "race", []byte("w"+strconv.Itoa(i)), statemgr.CreateOptions{})
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("creators %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, statemgr.ErrExists):
			t.Fatalf("creator %d: %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no creator won")
	}
	if got := mustGet(t, s, statemgr.Topologies, "race"); string(got) != "w"+strconv.Itoa(winner) {
		t.Fatalf("node holds %q, winner wrote w%d", got, winner)
	}
}

func testConcurrentWriters(t *testing.T, open Opener) {
	s := open(t)
	o := Reopen(t, s)
	const writers, rounds = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%2 == 1 {
				st = o
			}
			own := "w" + strconv.Itoa(w)
			for r := range rounds {
				v := []byte(fmt.Sprintf("%s-%d", own, r))
				if err := st.Set(bg(), statemgr.PhysicalPlans, own, v); err != nil {
					errs <- err
					return
				}
				if err := st.Set(bg(), statemgr.PhysicalPlans, "shared", v); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		own := "w" + strconv.Itoa(w)
		if got := mustGet(t, s, statemgr.PhysicalPlans, own); string(got) != fmt.Sprintf("%s-%d", own, rounds-1) {
			t.Errorf("%s = %q, want its last write", own, got)
		}
	}
	shared := string(mustGet(t, s, statemgr.PhysicalPlans, "shared"))
	var ok bool
	for w := range writers {
		ok = ok || shared == fmt.Sprintf("w%d-%d", w, rounds-1)
	}
	if !ok {
		t.Errorf("shared = %q, want some writer's last write", shared)
	}
	names, _ := s.List(bg(), statemgr.PhysicalPlans)
	if len(names) != writers+1 {
		t.Errorf("List = %q, want %d names", names, writers+1)
	}
}

func testEphemeral(t *testing.T, open Opener) {
	s := open(t)
	err := s.Create(bg(), statemgr.TManagers, "t1", []byte("tm"), statemgr.CreateOptions{Ephemeral: true})
	if err != nil {
		t.Fatalf("Create ephemeral: %v", err)
	}
	if got := mustGet(t, Reopen(t, s), statemgr.TManagers, "t1"); string(got) != "tm" {
		t.Fatalf("Get = %q", got)
	}
	err = s.Create(bg(), statemgr.TManagers, "t1", []byte("tm2"), statemgr.CreateOptions{Ephemeral: true})
	wantErr(t, "second ephemeral Create", err, statemgr.ErrExists)
}

func testLockContention(t *testing.T, open Opener) {
	s := open(t)
	o := Reopen(t, s)
	unlock, err := s.Lock(bg(), "t1", "updateTopology", time.Second)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	names, err := s.List(bg(), statemgr.Locks)
	if err != nil || !slices.Contains(names, statemgr.LockPath("t1", "updateTopology")) {
		t.Fatalf("List(locks) = %q, %v; want the lock node", names, err)
	}
	_, err = o.Lock(bg(), "t1", "updateTopology", 300*time.Millisecond)
	wantErr(t, "Lock from another store while held", err, statemgr.ErrLocked)
	_, err = s.Lock(bg(), "t1", "updateTopology", 0)
	wantErr(t, "Lock from the same store while held", err, statemgr.ErrLocked)
	// Other topologies and lock names are independent.
	u2, err := o.Lock(bg(), "t2", "updateTopology", 0)
	if err != nil {
		t.Fatalf("Lock of another topology: %v", err)
	}
	if err := u2(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	u3, err := o.Lock(bg(), "t1", "updateTopology", time.Second)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	// Kill deletes locks whoever holds them.
	if err := s.Delete(bg(), statemgr.Locks, statemgr.LockPath("t1", "updateTopology")); err != nil {
		t.Fatalf("Delete lock: %v", err)
	}
	u4, err := s.Lock(bg(), "t1", "updateTopology", 5*time.Second)
	if err != nil {
		t.Fatalf("Lock after the lock node was deleted: %v", err)
	}
	if err := u4(); err != nil {
		t.Fatal(err)
	}
	if err := u3(); err != nil {
		t.Fatalf("unlock of a deleted lock: %v", err)
	}
}

func testLockWaits(t *testing.T, open Opener) {
	s := open(t)
	o := Reopen(t, s)
	unlock, err := s.Lock(bg(), "t1", "updateTopology", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		u, err := o.Lock(bg(), "t1", "updateTopology", EventTimeout)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	<-waiting
	time.Sleep(50 * time.Millisecond) // let the waiter find the lock taken (no assertion on timing)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
}

func testLockCancel(t *testing.T, open Opener) {
	s := open(t)
	unlock, err := s.Lock(bg(), "t1", "updateTopology", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(bg())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = Reopen(t, s).Lock(ctx, "t1", "updateTopology", EventTimeout)
	wantErr(t, "Lock with a cancelled context", err, context.Canceled)
}

func testWatchSequence(t *testing.T, open Opener) {
	s := open(t)
	w := Reopen(t, s)
	ch, err := w.Watch(bg(), statemgr.TManagers, "t1")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventDeleted, nil) // initial state: absent
	if err := s.Create(bg(), statemgr.TManagers, "t1", []byte("v1"), statemgr.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventCreated, []byte("v1"))
	mustSet(t, s, statemgr.TManagers, "t1", []byte("v2"))
	expect(t, ch, statemgr.EventChanged, []byte("v2"))
	mustSet(t, s, statemgr.TManagers, "t1", []byte("v3"))
	expect(t, ch, statemgr.EventChanged, []byte("v3"))
	if err := s.Delete(bg(), statemgr.TManagers, "t1"); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventDeleted, nil)
	mustSet(t, s, statemgr.TManagers, "t1", []byte("v4"))
	ev := Next(t, ch)
	if ev.Type != statemgr.EventCreated || string(ev.Data) != "v4" || ev.Kind != statemgr.TManagers || ev.Topology != "t1" {
		t.Fatalf("event %+v, want created v4 for tmanagers/t1", ev)
	}
}

func testWatchInitial(t *testing.T, open Opener) {
	s := open(t)
	mustSet(t, s, statemgr.PackingPlans, "t1", []byte("plan"))
	ch, err := s.Watch(bg(), statemgr.PackingPlans, "t1")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventCreated, []byte("plan"))
	// A watch on another node sees nothing from this one.
	other, err := s.Watch(bg(), statemgr.PackingPlans, "t2")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, other, statemgr.EventDeleted, nil)
	mustSet(t, s, statemgr.PackingPlans, "t1", []byte("plan2"))
	expect(t, ch, statemgr.EventChanged, []byte("plan2"))
	mustSet(t, s, statemgr.PackingPlans, "t2", []byte("p"))
	expect(t, other, statemgr.EventCreated, []byte("p"))
}

// testWatchRapid writes faster than a watcher re-arms: events may be
// coalesced, but they must come in order and end with the last value.
func testWatchRapid(t *testing.T, open Opener) {
	s := open(t)
	w := Reopen(t, s)
	mustSet(t, s, statemgr.PhysicalPlans, "t1", []byte("v000"))
	ch, err := w.Watch(bg(), statemgr.PhysicalPlans, "t1")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventCreated, []byte("v000"))
	const n = 40
	for i := 1; i <= n; i++ {
		mustSet(t, s, statemgr.PhysicalPlans, "t1", []byte(fmt.Sprintf("v%03d", i)))
	}
	last := 0
	WaitFor(t, ch, fmt.Sprintf("changed v%03d", n), func(ev statemgr.Event) bool {
		if ev.Type == statemgr.EventReconnected {
			return false
		}
		if ev.Type != statemgr.EventChanged {
			t.Fatalf("event %s during overwrites", describe(ev))
		}
		i, err := strconv.Atoi(string(ev.Data[1:]))
		if err != nil || i <= last {
			t.Fatalf("event %s after v%03d: out of order", describe(ev), last)
		}
		last = i
		return i == n
	})
}

func testWatchMany(t *testing.T, open Opener) {
	s := open(t)
	var chans []<-chan statemgr.Event
	for _, st := range []statemgr.Store{s, s, Reopen(t, s)} {
		ch, err := st.Watch(bg(), statemgr.MetricsCaches, "t1")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, ch, statemgr.EventDeleted, nil)
		chans = append(chans, ch)
	}
	mustSet(t, s, statemgr.MetricsCaches, "t1", []byte("mc"))
	for _, ch := range chans {
		expect(t, ch, statemgr.EventCreated, []byte("mc"))
	}
}

func testWatchChildren(t *testing.T, open Opener) {
	s := open(t)
	w := Reopen(t, s)
	mustSet(t, s, statemgr.Topologies, "b", []byte("x"))
	ch, err := w.WatchChildren(bg(), statemgr.Topologies)
	if err != nil {
		t.Fatal(err)
	}
	children := func(want ...string) {
		t.Helper()
		WaitFor(t, ch, fmt.Sprintf("children %q", want), func(ev statemgr.Event) bool {
			if ev.Type != statemgr.EventChildren {
				return false
			}
			if ev.Kind != statemgr.Topologies || !slices.IsSorted(ev.Children) {
				t.Fatalf("children event %+v: wrong kind or unsorted", ev)
			}
			return slices.Equal(ev.Children, want)
		})
	}
	ev := Next(t, ch)
	if ev.Type != statemgr.EventChildren || !slices.Equal(ev.Children, []string{"b"}) {
		t.Fatalf("first event %s, want children[b]", describe(ev))
	}
	mustSet(t, s, statemgr.Topologies, "a", []byte("x"))
	children("a", "b")
	mustSet(t, s, statemgr.Topologies, "a", []byte("changed data, same names"))
	mustSet(t, s, statemgr.Topologies, "c", []byte("x"))
	children("a", "b", "c")
	for _, n := range []string{"a", "b", "c"} {
		if err := s.Delete(bg(), statemgr.Topologies, n); err != nil {
			t.Fatal(err)
		}
	}
	children()
	// Writes to other kinds do not show up here.
	mustSet(t, s, statemgr.PhysicalPlans, "z", []byte("x"))
	mustSet(t, s, statemgr.Topologies, "d", []byte("x"))
	children("d")
}

func testWatchCancel(t *testing.T, open Opener) {
	s := open(t)
	ctx, cancel := context.WithCancel(bg())
	ch, err := s.Watch(ctx, statemgr.Topologies, "t1")
	if err != nil {
		t.Fatal(err)
	}
	cch, err := s.WatchChildren(ctx, statemgr.Topologies)
	if err != nil {
		t.Fatal(err)
	}
	Next(t, ch)
	Next(t, cch)
	cancel()
	for _, c := range []<-chan statemgr.Event{ch, cch} {
		WaitFor(t, closedSignal(c), "channel closed", func(statemgr.Event) bool { return true })
	}
	// A cancelled context cannot start a watch.
	_, err = s.Watch(ctx, statemgr.Topologies, "t1")
	wantErr(t, "Watch with a cancelled context", err, context.Canceled)
}

// closedSignal turns "c was drained and closed" into one event.
func closedSignal(c <-chan statemgr.Event) <-chan statemgr.Event {
	out := make(chan statemgr.Event, 1)
	go func() {
		for range c {
		}
		out <- statemgr.Event{}
	}()
	return out
}

func testClose(t *testing.T, open Opener) {
	s := open(t)
	o := Reopen(t, s)
	mustSet(t, o, statemgr.Topologies, "t1", []byte("x"))
	ch, err := o.Watch(bg(), statemgr.Topologies, "t1")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, statemgr.EventCreated, []byte("x"))
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	WaitFor(t, closedSignal(ch), "watch closed by Close", func(statemgr.Event) bool { return true })
	_, err = o.Get(bg(), statemgr.Topologies, "t1")
	wantErr(t, "Get after Close", err, statemgr.ErrClosed)
	err = o.Set(bg(), statemgr.Topologies, "t1", []byte("y"))
	wantErr(t, "Set after Close", err, statemgr.ErrClosed)
	_, err = o.Watch(bg(), statemgr.Topologies, "t1")
	wantErr(t, "Watch after Close", err, statemgr.ErrClosed)
	_, err = o.Lock(bg(), "t1", "updateTopology", 0)
	wantErr(t, "Lock after Close", err, statemgr.ErrClosed)
	// The other store is unaffected.
	if got := mustGet(t, s, statemgr.Topologies, "t1"); string(got) != "x" {
		t.Fatalf("Get from the open store = %q", got)
	}
}
