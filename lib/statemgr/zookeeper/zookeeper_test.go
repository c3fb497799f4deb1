package zookeeper_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/statemgrtest"
	"github.com/heronkit/heronkit/lib/statemgr/zookeeper"
	"github.com/heronkit/heronkit/lib/testserver"
)

var roots atomic.Int64

// testOptions keep retries and timeouts short but generous enough for a
// server restart.
func testOptions() statemgr.Options {
	return statemgr.Options{
		ConnectionTimeout: 15 * time.Second,
		SessionTimeout:    10 * time.Second,
		RetryCount:        60,
		RetryInterval:     250 * time.Millisecond,
		InitTree:          true,
	}
}

// openAt opens a store on addr under a fresh root, closed at cleanup.
func openAt(t testing.TB, addr string, opts statemgr.Options) statemgr.Store {
	t.Helper()
	uri := fmt.Sprintf("zk://%s/heron-test/r%d", addr, roots.Add(1))
	s, err := statemgr.Open(context.Background(), uri, opts)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	statemgrtest.Run(t, func(t *testing.T) statemgr.Store { return openAt(t, z.Addr(), testOptions()) })
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"zk://h1:2181,h2:2181/heron":  "h1:2181,h2:2181 /heron",
		"zk://zk.example:2181":        "zk.example:2181 /heron",
		"zk://zk.example:2181/":       "zk.example:2181 /heron",
		"zk://h:1/a/b/":               "h:1 /a/b",
		"zk://h1:2181,,h2:2181/x":     "h1:2181,h2:2181 /x",
		"ZK://127.0.0.1:2181/cluster": "127.0.0.1:2181 /cluster",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Errorf("url.Parse(%q): %v", in, err)
			continue
		}
		hosts, root, err := zookeeper.ParseURL(u)
		if got := strings.Join(hosts, ",") + " " + root; err != nil || got != want {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"zk:///heron", "zk://h:2181/a//b", "zk://h:2181/a/../b", "zk://u:p@h:2181/x"} {
		u, err := url.Parse(in)
		if err != nil {
			continue
		}
		if _, _, err := zookeeper.ParseURL(u); err == nil {
			t.Errorf("ParseURL(%q) succeeded, want an error", in)
		}
	}
}

func TestTreeAndLimits(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	s, err := statemgr.Open(context.Background(), "zk://"+z.Addr(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Root() != "/heron" || s.URI() != "zk://"+z.Addr()+"/heron" {
		t.Fatalf("Root %q URI %q", s.Root(), s.URI())
	}
	c := rawConn(t, z.Addr())
	for _, k := range statemgr.Kinds {
		ok, st, err := c.Exists("/heron/" + string(k))
		if err != nil || !ok || st.EphemeralOwner != 0 {
			t.Errorf("/heron/%s: exists %v, %v", k, ok, err)
		}
	}
	// Input ZooKeeper would refuse is refused before it reaches the server.
	ctx := context.Background()
	if _, err := s.Watch(ctx, statemgr.Topologies, "bell\x07"); !errors.Is(err, statemgr.ErrInvalidName) {
		t.Errorf("Watch of a name with a control character: %v, want ErrInvalidName", err)
	}
	big := make([]byte, 2<<20)
	if err := s.Set(ctx, statemgr.Topologies, "big", big); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("Set of 2 MiB: %v, want a size error", err)
	}
	if err := s.Set(ctx, statemgr.Topologies, "small", []byte("x")); err != nil {
		t.Errorf("Set after a refused write: %v", err)
	}
	// Without InitTree nothing is created, and writes say what to do.
	opts := testOptions()
	opts.InitTree = false
	bare, err := statemgr.Open(ctx, "zk://"+z.Addr()+"/bare", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if err := bare.Set(ctx, statemgr.Topologies, "t", []byte("x")); !errors.Is(err, statemgr.ErrNotFound) || !strings.Contains(err.Error(), "initialise") {
		t.Errorf("Set without a tree: %v", err)
	}
	if _, err := bare.List(ctx, statemgr.Topologies); !errors.Is(err, statemgr.ErrNotFound) {
		t.Errorf("List without a tree: %v", err)
	}
	kids, err := bare.WatchChildren(ctx, statemgr.Topologies)
	if err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, kids, "empty children", func(ev statemgr.Event) bool { return len(ev.Children) == 0 })
	if err := bare.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bare.Set(ctx, statemgr.Topologies, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, kids, "children [t]", func(ev statemgr.Event) bool { return slices.Equal(ev.Children, []string{"t"}) })
}

// rawConn is a plain client for checks and for writing nodes the way Heron's
// Java does.
func rawConn(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func TestUnreachableFailsWithinTimeout(t *testing.T) {
	addr := fmt.Sprintf("%s:%d", testserver.Host, testserver.FreePort(t)) // nothing listens there
	opts := testOptions()
	opts.ConnectionTimeout = time.Second
	start := time.Now()
	_, err := statemgr.Open(context.Background(), "zk://"+addr+"/heron", opts)
	if !errors.Is(err, statemgr.ErrUnavailable) {
		t.Fatalf("Open of an unreachable server: %v, want ErrUnavailable", err)
	}
	// A hang guard, not a performance check: the library alone would retry forever.
	if d := time.Since(start); d > opts.ConnectionTimeout+10*time.Second {
		t.Fatalf("Open took %s with a %s connection timeout", d, opts.ConnectionTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	opts.ConnectionTimeout = time.Minute
	if _, err := statemgr.Open(ctx, "zk://"+addr+"/heron", opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v", err)
	}
}

func TestEphemeralVanishesOnClose(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	owner := openAt(t, z.Addr(), testOptions())
	other := statemgrtest.Reopen(t, owner)
	ch, err := other.Watch(context.Background(), statemgr.TManagers, "t1")
	if err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "initial deleted", isType(statemgr.EventDeleted))
	if err := owner.Create(context.Background(), statemgr.TManagers, "t1", []byte("tm"), statemgr.CreateOptions{Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	if err := owner.Create(context.Background(), statemgr.PhysicalPlans, "t1", []byte("pp"), statemgr.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "created", isType(statemgr.EventCreated))
	unlock, err := owner.Lock(context.Background(), "t1", "updateTopology", 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = unlock // never released: Close must free it
	owner.Close()
	statemgrtest.WaitFor(t, ch, "deleted after the owner closed", isType(statemgr.EventDeleted))
	if _, err := other.Get(context.Background(), statemgr.PhysicalPlans, "t1"); err != nil {
		t.Fatalf("persistent node lost with the session: %v", err)
	}
	u, err := other.Lock(context.Background(), "t1", "updateTopology", 0)
	if err != nil {
		t.Fatalf("lock of a closed store still held: %v", err)
	}
	u()
}

func isType(typ statemgr.EventType) func(statemgr.Event) bool {
	return func(ev statemgr.Event) bool { return ev.Type == typ }
}

func isData(typ statemgr.EventType, data string) func(statemgr.Event) bool {
	return func(ev statemgr.Event) bool { return ev.Type == typ && string(ev.Data) == data }
}

// TestServerRestartMidWatch stops ZooKeeper while watches are armed and starts
// it again on the same port and data dir: the watches keep delivering.
func TestServerRestartMidWatch(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	writer := openAt(t, z.Addr(), testOptions())
	watcher := statemgrtest.Reopen(t, writer)
	ctx := context.Background()
	ch, err := watcher.Watch(ctx, statemgr.PhysicalPlans, "t1")
	if err != nil {
		t.Fatal(err)
	}
	kids, err := watcher.WatchChildren(ctx, statemgr.PhysicalPlans)
	if err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "initial deleted", isType(statemgr.EventDeleted))
	statemgrtest.WaitFor(t, kids, "initial children", func(ev statemgr.Event) bool { return len(ev.Children) == 0 })
	if err := writer.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "created v1", isData(statemgr.EventCreated, "v1"))

	z.Stop()
	z.Start()

	// Set retries (RetryCount x RetryInterval) until the client is back.
	if err := writer.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v2")); err != nil {
		t.Fatalf("Set after restart: %v", err)
	}
	statemgrtest.WaitFor(t, ch, "changed v2 after restart", isData(statemgr.EventChanged, "v2"))
	if err := writer.Set(ctx, statemgr.PhysicalPlans, "t2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, kids, "children after restart", func(ev statemgr.Event) bool {
		return slices.Equal(ev.Children, []string{"t1", "t2"})
	})

	// A change made while the watcher is cut off is delivered once it is back.
	z.Stop()
	z.Start()
	other := statemgrtest.Reopen(t, writer)
	if err := other.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "changed v3", isData(statemgr.EventChanged, "v3"))
	if err := writer.Delete(ctx, statemgr.PhysicalPlans, "t1"); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "deleted", isType(statemgr.EventDeleted))
}

// TestSessionExpiry cuts a client off (through a TCP proxy) until the server
// expires its session: its ephemeral nodes vanish, and its watches report
// EventReconnected and then the current state once it is back.
func TestSessionExpiry(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	proxy := testserver.StartProxy(t, z.Addr())
	opts := testOptions()
	opts.SessionTimeout = 2 * time.Second // the server's minimum here is 1 s
	cut := openAt(t, proxy.Addr(), opts)
	direct, err := statemgr.Open(context.Background(), "zk://"+z.Addr()+cut.Root(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	ctx := context.Background()

	if err = cut.Create(ctx, statemgr.TManagers, "t1", []byte("tm"), statemgr.CreateOptions{Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	if err := cut.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	ch, err := cut.Watch(ctx, statemgr.PhysicalPlans, "t1")
	if err != nil {
		t.Fatal(err)
	}
	kids, err := cut.WatchChildren(ctx, statemgr.PhysicalPlans)
	if err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "created v1", isData(statemgr.EventCreated, "v1"))
	statemgrtest.WaitFor(t, kids, "children [t1]", isType(statemgr.EventChildren))
	tm, err := direct.Watch(ctx, statemgr.TManagers, "t1")
	if err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, tm, "tmanager created", isType(statemgr.EventCreated))
	oldSession := cut.(*zookeeper.Store).SessionID()

	proxy.Block()
	// The server expires the session: the ephemeral node goes.
	statemgrtest.WaitFor(t, tm, "tmanager deleted by session expiry", isType(statemgr.EventDeleted))
	// Changed while cut off: the watch cannot see it live.
	if err := direct.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	proxy.Unblock()

	statemgrtest.WaitFor(t, ch, "reconnected", isType(statemgr.EventReconnected))
	statemgrtest.WaitFor(t, ch, "current state v2 after reconnect", isData(statemgr.EventCreated, "v2"))
	statemgrtest.WaitFor(t, kids, "reconnected (children)", isType(statemgr.EventReconnected))
	statemgrtest.WaitFor(t, kids, "children after reconnect", func(ev statemgr.Event) bool {
		return ev.Type == statemgr.EventChildren && slices.Equal(ev.Children, []string{"t1"})
	})
	if id := cut.(*zookeeper.Store).SessionID(); id == oldSession || id == 0 {
		t.Fatalf("session 0x%x after expiry, old 0x%x: want a new one", id, oldSession)
	}
	// The watch keeps working in the new session.
	if err := direct.Set(ctx, statemgr.PhysicalPlans, "t1", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "changed v3 in the new session", isData(statemgr.EventChanged, "v3"))
	// Ephemeral nodes are not re-created: their owners must write them again.
	if _, err := cut.Get(ctx, statemgr.TManagers, "t1"); !errors.Is(err, statemgr.ErrNotFound) {
		t.Fatalf("ephemeral node after expiry: %v, want ErrNotFound", err)
	}
	if err := cut.Create(ctx, statemgr.TManagers, "t1", []byte("tm2"), statemgr.CreateOptions{Ephemeral: true}); err != nil {
		t.Fatalf("re-create ephemeral in the new session: %v", err)
	}
}

// TestCuratorLockInterop: Heron's Java leaves <lock>/locks and <lock>/leases
// parents behind; a lease child means a Java process holds the lock.
func TestCuratorLockInterop(t *testing.T) {
	z := testserver.StartZooKeeper(t)
	s := openAt(t, z.Addr(), testOptions())
	c := rawConn(t, z.Addr())
	lock := s.Root() + "/locks/t1__updateTopology"
	for _, p := range []string{lock, lock + "/locks", lock + "/leases"} {
		if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := c.Create(lock+"/leases/_c_0123-lease-", nil, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Lock(ctx, "t1", "updateTopology", 300*time.Millisecond); !errors.Is(err, statemgr.ErrLocked) {
		t.Fatalf("Lock while a Curator lease exists: %v, want ErrLocked", err)
	}
	if err := c.Delete(lease, -1); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(ctx, "t1", "updateTopology", 5*time.Second)
	if err != nil {
		t.Fatalf("Lock over a released Curator lock: %v", err)
	}
	_, st, err := c.Exists(lock)
	if err != nil || st.EphemeralOwner == 0 {
		t.Fatalf("lock node not ephemeral: %+v, %v", st, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func bench(b *testing.B, fn func(*testing.B, statemgr.Store)) {
	z := testserver.StartZooKeeper(b)
	fn(b, openAt(b, z.Addr(), testOptions()))
}

func BenchmarkGet(b *testing.B)          { bench(b, statemgrtest.BenchGet) }
func BenchmarkSet(b *testing.B)          { bench(b, statemgrtest.BenchSet) }
func BenchmarkWatchLatency(b *testing.B) { bench(b, statemgrtest.BenchWatchLatency) }
