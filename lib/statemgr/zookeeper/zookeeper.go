// Package zookeeper is the ZooKeeper state manager, registered under the URI
// scheme zk: zk://host1:2181,host2:2181/heron (an empty path means /heron).
// The path is a prefix of every node path, like a chroot.
//
// Nodes are Heron's: <root>/<kind>/<topology> holding the raw bytes, with an
// open ACL. Differences from Heron, on purpose:
//
//   - Init creates the root and the nine subtrees as PERSISTENT nodes (Heron's
//     Curator creates CONTAINER nodes, which the server reaps when empty).
//   - Set creates or overwrites (SetData with version -1), like Heron's C++;
//     Heron's Java only creates, deleting first.
//   - Lock is a single EPHEMERAL node <root>/locks/<topology>__<name> holding
//     pid@host#nonce; a waiter watches it until it goes or the timeout passes.
//     Heron's Java uses Curator's InterProcessSemaphoreMutex, which makes that
//     node a persistent parent of locks/ and leases/ children. The two schemes
//     exclude each other: a node with lease children counts as held, and a
//     Curator parent left with no leases is removed (as Heron's kill does)
//     before taking the lock. A lock dies with the session that took it.
//   - Watches are permanent: each is re-armed after every event and across
//     reconnects. When the session expires the client opens a new one; every
//     watch then emits EventReconnected followed by the node's current state.
//     Ephemeral nodes and locks of the expired session are gone by then and
//     are not re-created: their owners must write them again.
//
// The ZooKeeper client logs through zerolog at debug level.
package zookeeper

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog/log"

	"github.com/heronkit/heronkit/lib/statemgr"
)

// DefaultRoot is the root when a zk:// URI has no path, as in Heron's ZooKeeper configs.
const DefaultRoot = "/heron"

func init() {
	statemgr.Register("zk", func(ctx context.Context, u *url.URL, opts statemgr.Options) (statemgr.Store, error) {
		hosts, root, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		return Open(ctx, hosts, root, opts)
	})
}

// ParseURL splits zk://h1:2181,h2:2181/root into hosts and a clean root.
func ParseURL(u *url.URL) (hosts []string, root string, err error) {
	if u.Opaque != "" || u.User != nil {
		return nil, "", fmt.Errorf("state manager URI %q: use zk://host:port[,host:port...]/root", u.Redacted())
	}
	for h := range strings.SplitSeq(u.Host, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, "", fmt.Errorf("state manager URI %q names no ZooKeeper host; use zk://host:2181/heron", u.Redacted())
	}
	root, err = CleanRoot(u.Path)
	return hosts, root, err
}

// CleanRoot checks a ZooKeeper root path: "" or "/" mean DefaultRoot, one
// trailing slash is dropped, and empty, "." or ".." components are refused.
func CleanRoot(root string) (string, error) {
	if root == "" || root == "/" {
		return DefaultRoot, nil
	}
	if !strings.HasPrefix(root, "/") {
		return "", fmt.Errorf("ZooKeeper root %q must start with /", root)
	}
	root = strings.TrimSuffix(root, "/")
	for c := range strings.SplitSeq(root[1:], "/") {
		if c == "" || c == "." || c == ".." {
			return "", fmt.Errorf("ZooKeeper root %q has an empty, . or .. component", root)
		}
	}
	return root, nil
}

// Store is a Heron state root in ZooKeeper, served by one ZooKeeper session.
type Store struct {
	conn  *zk.Conn
	hosts []string
	root  string
	opts  statemgr.Options
	acl   []zk.ACL
	host  string // pid@host, prefix of lock contents

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	watchers sync.WaitGroup
	events   chan struct{} // closed when the session event loop ends

	sessions atomic.Int64 // sessions established so far
}

// Open connects to ZooKeeper and waits up to opts.ConnectionTimeout (and ctx)
// for a session; otherwise it fails with statemgr.ErrUnavailable. With
// opts.InitTree it creates the tree.
func Open(ctx context.Context, hosts []string, root string, opts statemgr.Options) (*Store, error) {
	root, err := CleanRoot(root)
	if err != nil {
		return nil, err
	}
	def := statemgr.DefaultOptions()
	if opts.ConnectionTimeout <= 0 {
		opts.ConnectionTimeout = def.ConnectionTimeout
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = def.SessionTimeout
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = def.RetryInterval
	}
	opts.RetryCount = max(opts.RetryCount, 0)

	conn, events, err := zk.Connect(hosts, opts.SessionTimeout, zk.WithLogger(zlog{}))
	if err != nil {
		return nil, fmt.Errorf("connect to ZooKeeper %s: %v: %w", strings.Join(hosts, ","), err, statemgr.ErrUnavailable)
	}
	hostname, _ := os.Hostname()
	s := &Store{conn: conn, hosts: hosts, root: root, opts: opts,
		acl: zk.WorldACL(zk.PermAll), host: fmt.Sprintf("%d@%s", os.Getpid(), hostname),
		events: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	connected := make(chan struct{})
	go s.sessionLoop(events, connected)

	// The client library retries forever; the connection timeout is ours to enforce.
	timer := time.NewTimer(opts.ConnectionTimeout)
	defer timer.Stop()
	select {
	case <-connected:
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("no ZooKeeper session with %s within %s; check that the servers run and the address is right: %w",
			strings.Join(hosts, ","), opts.ConnectionTimeout, statemgr.ErrUnavailable)
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("connect to ZooKeeper %s: %w", strings.Join(hosts, ","), ctx.Err())
	}
	if opts.InitTree {
		if err := s.Init(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// sessionLoop follows the client's session events until the connection closes.
func (s *Store) sessionLoop(events <-chan zk.Event, connected chan struct{}) {
	defer close(s.events)
	var last int64
	for ev := range events {
		if ev.Type != zk.EventSession {
			continue
		}
		switch ev.State {
		case zk.StateHasSession:
			id := s.conn.SessionID()
			if s.sessions.Add(1) == 1 {
				close(connected)
			} else if id != last {
				log.Warn().Str("zookeeper", s.conn.Server()).Msgf("new ZooKeeper session 0x%x after the old one expired; "+
					"ephemeral nodes and locks of the old session are gone", id)
			} else {
				log.Debug().Str("zookeeper", s.conn.Server()).Msg("ZooKeeper session resumed")
			}
			last = id
		case zk.StateExpired:
			log.Warn().Msgf("ZooKeeper session 0x%x expired", last)
		case zk.StateDisconnected:
			log.Debug().Msg("disconnected from ZooKeeper; reconnecting")
		}
	}
}

// zlog routes the client library's log lines to zerolog at debug level.
type zlog struct{}

func (zlog) Printf(format string, args ...any) { log.Debug().Msgf("zk: "+format, args...) }

// Root is the root path, e.g. /heron.
func (s *Store) Root() string { return s.root }

// URI is zk://hosts/root.
func (s *Store) URI() string { return "zk://" + strings.Join(s.hosts, ",") + s.root }

// SessionID is the current ZooKeeper session (0 while there is none).
func (s *Store) SessionID() int64 { return s.conn.SessionID() }

// Close ends the session, so this store's ephemeral nodes and locks vanish at
// once, and closes every watch channel.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.conn.Close()
	s.watchers.Wait()
	<-s.events
	return nil
}

func (s *Store) kindPath(kind statemgr.Kind) (string, error) {
	if !kind.Valid() {
		return "", fmt.Errorf("%w: unknown kind %q", statemgr.ErrInvalidName, kind)
	}
	return s.root + "/" + string(kind), nil
}

func (s *Store) nodePath(kind statemgr.Kind, topology string) (string, error) {
	kp, err := s.kindPath(kind)
	if err != nil {
		return "", err
	}
	if err := statemgr.ValidTopologyName(topology); err != nil {
		return "", err
	}
	for _, r := range topology {
		// The characters ZooKeeper refuses in a path.
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0xd800 && r <= 0xf8ff) || (r >= 0xfff0 && r <= 0xffff) {
			return "", fmt.Errorf("%w: topology name %q has a character ZooKeeper does not allow (%U)", statemgr.ErrInvalidName, topology, r)
		}
	}
	return kp + "/" + topology, nil
}

// MaxDataSize is the most a node may hold: ZooKeeper's default jute.maxbuffer
// (1 MiB) less room for the request header. A larger write would make the
// server drop the connection.
const MaxDataSize = 1024*1024 - 1024

func checkSize(kind statemgr.Kind, topology string, data []byte) error {
	if len(data) > MaxDataSize {
		return fmt.Errorf("%s: %d bytes exceed the %d a ZooKeeper node can hold", nodeName(kind, topology), len(data), MaxDataSize)
	}
	return nil
}

// retryable errors are connection problems: the operation may succeed later.
func retryable(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrSessionMoved) ||
		errors.Is(err, zk.ErrClosing)
}

// mapErr turns client errors into statemgr's portable ones.
func (s *Store) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case s.ctx.Err() != nil:
		return statemgr.ErrClosed
	case errors.Is(err, zk.ErrNoNode):
		return statemgr.ErrNotFound
	case errors.Is(err, zk.ErrNodeExists):
		return statemgr.ErrExists
	case errors.Is(err, zk.ErrInvalidPath):
		return fmt.Errorf("%w: %v", statemgr.ErrInvalidName, err)
	case retryable(err):
		return fmt.Errorf("%v: %w", err, statemgr.ErrUnavailable)
	}
	return err
}

// do runs op, retrying connection errors RetryCount times RetryInterval apart.
// attempt tells op whether an earlier try may have reached the server.
func (s *Store) do(ctx context.Context, op func(attempt int) error) error {
	for attempt := 0; ; attempt++ {
		if err := s.check(ctx); err != nil {
			return err
		}
		err := s.call(ctx, func() error { return op(attempt) })
		if err == nil || !retryable(err) || attempt >= s.opts.RetryCount {
			return s.mapErr(err)
		}
		log.Debug().Err(err).Int("attempt", attempt+1).Msg("ZooKeeper operation failed; retrying")
		if err := s.sleep(ctx, s.opts.RetryInterval); err != nil {
			return err
		}
	}
}

// call runs fn, returning early if ctx ends (fn finishes in the background,
// bounded by the client's own timeouts).
func (s *Store) call(ctx context.Context, fn func() error) error {
	if ctx.Done() == nil {
		return fn()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return statemgr.ErrClosed
	}
	return nil
}

func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return statemgr.ErrClosed
	}
}

// Init creates the root (with its parents) and the nine subtrees as
// PERSISTENT nodes if they are missing.
func (s *Store) Init(ctx context.Context) error {
	var paths []string
	for i := 1; i < len(s.root); i++ {
		if s.root[i] == '/' {
			paths = append(paths, s.root[:i])
		}
	}
	paths = append(paths, s.root)
	for _, k := range statemgr.Kinds {
		paths = append(paths, s.root+"/"+string(k))
	}
	for _, p := range paths {
		err := s.do(ctx, func(int) error {
			_, err := s.conn.Create(p, nil, 0, s.acl)
			if errors.Is(err, zk.ErrNodeExists) {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("initialise state tree %s in ZooKeeper: create %s: %w", s.root, p, err)
		}
	}
	return nil
}

func nodeName(kind statemgr.Kind, topology string) string { return string(kind) + "/" + topology }

// missingParent explains ErrNoNode on a write: the subtree does not exist.
func (s *Store) missingParent(kind statemgr.Kind) error {
	return fmt.Errorf("znode %s/%s is missing; initialise the state tree first: %w", s.root, kind, statemgr.ErrNotFound)
}

// Get returns the node's bytes or ErrNotFound.
func (s *Store) Get(ctx context.Context, kind statemgr.Kind, topology string) ([]byte, error) {
	p, err := s.nodePath(kind, topology)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.do(ctx, func(int) error {
		b, _, err := s.conn.Get(p)
		data = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", nodeName(kind, topology), err)
	}
	return bytes.Clone(data), nil
}

// Create writes a new node (EPHEMERAL if asked) or fails with ErrExists.
func (s *Store) Create(ctx context.Context, kind statemgr.Kind, topology string, data []byte, opts statemgr.CreateOptions) error {
	p, err := s.nodePath(kind, topology)
	if err != nil {
		return err
	}
	if err := checkSize(kind, topology, data); err != nil {
		return err
	}
	err = s.do(ctx, func(attempt int) error { return s.create(p, data, opts.Ephemeral, attempt) })
	if errors.Is(err, statemgr.ErrNotFound) {
		err = s.missingParent(kind)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", nodeName(kind, topology), err)
	}
	return nil
}

// create makes one attempt. After a lost connection the earlier attempt may
// have succeeded: a node holding our bytes (and, if ephemeral, owned by our
// session) is then ours.
func (s *Store) create(p string, data []byte, ephemeral bool, attempt int) error {
	var flags int32
	if ephemeral {
		flags = zk.FlagEphemeral
	}
	_, err := s.conn.Create(p, data, flags, s.acl)
	if errors.Is(err, zk.ErrNodeExists) && attempt > 0 {
		got, st, gerr := s.conn.Get(p)
		if gerr == nil && bytes.Equal(got, data) && (!ephemeral || st.EphemeralOwner == s.conn.SessionID()) {
			return nil
		}
	}
	return err
}

// Set creates or overwrites the node; ZooKeeper writes are atomic.
func (s *Store) Set(ctx context.Context, kind statemgr.Kind, topology string, data []byte) error {
	p, err := s.nodePath(kind, topology)
	if err != nil {
		return err
	}
	if err := checkSize(kind, topology, data); err != nil {
		return err
	}
	err = s.do(ctx, func(int) error {
		for range 5 { // a concurrent Delete or Create can make us go round
			_, err := s.conn.Set(p, data, -1)
			if !errors.Is(err, zk.ErrNoNode) {
				return err
			}
			_, err = s.conn.Create(p, data, 0, s.acl)
			if !errors.Is(err, zk.ErrNodeExists) {
				return err
			}
		}
		return fmt.Errorf("node %s keeps being created and deleted by others", p)
	})
	if errors.Is(err, statemgr.ErrNotFound) {
		err = s.missingParent(kind)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", nodeName(kind, topology), err)
	}
	return nil
}

// Delete removes the node, with its children under locks (Curator leaves
// some). A missing node is not an error.
func (s *Store) Delete(ctx context.Context, kind statemgr.Kind, topology string) error {
	p, err := s.nodePath(kind, topology)
	if err != nil {
		return err
	}
	err = s.do(ctx, func(int) error {
		if kind == statemgr.Locks {
			return s.deleteTree(p)
		}
		err := s.conn.Delete(p, -1)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", nodeName(kind, topology), err)
	}
	return nil
}

// deleteTree removes p and everything below it; missing nodes are fine.
func (s *Store) deleteTree(p string) error {
	for range 5 { // children may be added while we delete
		children, _, err := s.conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := s.deleteTree(p + "/" + c); err != nil {
				return err
			}
		}
		err = s.conn.Delete(p, -1)
		if err == nil || errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if !errors.Is(err, zk.ErrNotEmpty) {
			return err
		}
	}
	return fmt.Errorf("%s keeps getting new children: %w", p, zk.ErrNotEmpty)
}

// List returns the sorted children of the kind's znode, or ErrNotFound.
func (s *Store) List(ctx context.Context, kind statemgr.Kind) ([]string, error) {
	kp, err := s.kindPath(kind)
	if err != nil {
		return nil, err
	}
	var names []string
	err = s.do(ctx, func(int) error {
		c, _, err := s.conn.Children(kp)
		names = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	names = slices.Clone(names)
	sort.Strings(names)
	return names, nil
}

// Lock takes <root>/locks/<topology>__<name> as an EPHEMERAL node, waiting up
// to timeout for its holder to release it (or its holder's session to end).
func (s *Store) Lock(ctx context.Context, topology, name string, timeout time.Duration) (func() error, error) {
	lockName, err := statemgr.LockNode(topology, name)
	if err != nil {
		return nil, err
	}
	p, err := s.nodePath(statemgr.Locks, lockName)
	if err != nil {
		return nil, err
	}
	holder := []byte(s.host + "#" + nonce())
	deadline := time.Now().Add(timeout)
	for {
		err := s.do(ctx, func(attempt int) error { return s.create(p, holder, true, attempt) })
		if err == nil {
			return s.unlocker(p, lockName, holder), nil
		}
		if errors.Is(err, statemgr.ErrNotFound) {
			return nil, fmt.Errorf("lock %s: %w", lockName, s.missingParent(statemgr.Locks))
		}
		if !errors.Is(err, statemgr.ErrExists) {
			return nil, fmt.Errorf("lock %s: %w", lockName, err)
		}
		// Held: wait for a change of the node, the timeout, or a short poll
		// for Curator's lease children.
		var (
			exists bool
			st     *zk.Stat
			change <-chan zk.Event
			by     []byte
		)
		err = s.do(ctx, func(int) error {
			var err error
			exists, st, change, err = s.conn.ExistsW(p)
			if err == nil && exists {
				by, _, _ = s.conn.Get(p)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", lockName, err)
		}
		if !exists {
			continue
		}
		wait := time.Until(deadline)
		if st.EphemeralOwner == 0 {
			// A persistent node is Curator's: held while it has leases.
			leases, _, lerr := s.conn.Children(p + "/leases")
			if len(leases) == 0 && (lerr == nil || errors.Is(lerr, zk.ErrNoNode)) {
				log.Info().Str("lock", lockName).Msg("removing a lock node Heron's Java left with no holder")
				if err := s.deleteTree(p); err != nil {
					return nil, fmt.Errorf("lock %s: remove stale Curator node: %w", lockName, s.mapErr(err))
				}
				continue
			}
			by = []byte("a Heron Java process (Curator lease)")
			wait = min(wait, 250*time.Millisecond)
		}
		if time.Until(deadline) <= 0 {
			return nil, fmt.Errorf("lock %s (held by %q) not free after %s: %w", lockName, by, timeout, statemgr.ErrLocked)
		}
		t := time.NewTimer(wait)
		select {
		case <-change:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.ctx.Done():
			t.Stop()
			return nil, statemgr.ErrClosed
		}
		t.Stop()
	}
}

// unlocker deletes the lock node only while it is still ours: after a session
// expiry or a kill's Delete, someone else may hold it.
func (s *Store) unlocker(p, lockName string, holder []byte) func() error {
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			uerr = s.do(context.Background(), func(int) error {
				data, st, err := s.conn.Get(p)
				if errors.Is(err, zk.ErrNoNode) {
					return nil
				}
				if err != nil {
					return err
				}
				if !bytes.Equal(data, holder) {
					return nil
				}
				err = s.conn.Delete(p, st.Version)
				if errors.Is(err, zk.ErrNoNode) {
					return nil
				}
				return err
			})
			switch {
			case errors.Is(uerr, statemgr.ErrClosed):
				uerr = nil // the session ended, and the lock with it
			case uerr != nil:
				uerr = fmt.Errorf("unlock %s: %w", lockName, uerr)
			}
		})
		return uerr
	}
}

func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startWatcher registers a watch goroutine so that Close can wait for it.
func (s *Store) startWatcher(ctx context.Context) (context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, statemgr.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.watchers.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel(); s.watchers.Done() }, nil
}

// sessionChanged reports whether a watch loop runs in a new ZooKeeper session
// since its last read (or was told of an expiry), when its watchers must hear
// EventReconnected and the state again; it records the current session.
func (s *Store) sessionChanged(session *int64, expired *bool) bool {
	id := s.conn.SessionID()
	changed := *expired || (*session != 0 && id != *session)
	*session, *expired = id, false
	return changed
}

// waitToRearm logs a watch loop's failed read and waits before it re-arms;
// false once ctx has ended.
func (s *Store) waitToRearm(ctx context.Context, err error, node, msg string) bool {
	if ctx.Err() == nil {
		log.Debug().Err(err).Str("node", node).Msg(msg)
	}
	return s.sleep(ctx, s.rearmDelay()) == nil
}

// rearmDelay is the pause before re-arming a watch after a connection error.
func (s *Store) rearmDelay() time.Duration {
	return min(max(s.opts.RetryInterval, 50*time.Millisecond), time.Second)
}

// waitZK waits for a ZooKeeper watch event; false means stop watching.
// expired is set when the client dropped the watch with its session.
func waitZK(ctx context.Context, ch <-chan zk.Event, expired *bool) bool {
	select {
	case <-ctx.Done():
		return false
	case ev := <-ch:
		if ev.Type == zk.EventNotWatching && errors.Is(ev.Err, zk.ErrSessionExpired) {
			*expired = true
		}
		return true
	}
}

// Watch reports the node's state at once, then every creation, change of
// bytes and deletion, re-arming the one-shot ZooKeeper watch each time.
func (s *Store) Watch(ctx context.Context, kind statemgr.Kind, topology string) (<-chan statemgr.Event, error) {
	p, err := s.nodePath(kind, topology)
	if err != nil {
		return nil, err
	}
	ctx, done, err := s.startWatcher(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan statemgr.Event, 1)
	emit := func(ev statemgr.Event) bool {
		ev.Kind, ev.Topology, ev.Time = kind, topology, time.Now()
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer done()
		defer close(out)
		var (
			last          []byte
			exists, first = false, true
			session       int64
			expired       bool
			change        <-chan zk.Event
			present       bool
			data          []byte
			err           error
		)
		for ctx.Err() == nil {
			// One round trip when the node exists: read it and arm a data watch.
			data, _, change, err = s.conn.GetW(p)
			present = err == nil
			if errors.Is(err, zk.ErrNoNode) {
				var created bool
				created, _, change, err = s.conn.ExistsW(p)
				if err == nil && created {
					continue // created in between: read it
				}
			}
			if err != nil {
				if !s.waitToRearm(ctx, err, p, "re-arming ZooKeeper watch") {
					return
				}
				continue
			}
			if s.sessionChanged(&session, &expired) {
				first = true
				if !emit(statemgr.Event{Type: statemgr.EventReconnected}) {
					return
				}
			}
			var ev *statemgr.Event
			switch {
			case present && (first || !exists):
				ev = &statemgr.Event{Type: statemgr.EventCreated, Data: bytes.Clone(data)}
			case present && !bytes.Equal(data, last):
				ev = &statemgr.Event{Type: statemgr.EventChanged, Data: bytes.Clone(data)}
			case !present && (first || exists):
				ev = &statemgr.Event{Type: statemgr.EventDeleted}
			}
			exists, last, first = present, data, false
			if ev != nil && !emit(*ev) {
				return
			}
			if !waitZK(ctx, change, &expired) {
				return
			}
		}
	}()
	return out, nil
}

// WatchChildren reports the sorted names under kind at once (none while the
// kind's znode is missing), then every time the set changes.
func (s *Store) WatchChildren(ctx context.Context, kind statemgr.Kind) (<-chan statemgr.Event, error) {
	kp, err := s.kindPath(kind)
	if err != nil {
		return nil, err
	}
	ctx, done, err := s.startWatcher(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan statemgr.Event, 1)
	emit := func(ev statemgr.Event) bool {
		ev.Kind, ev.Time = kind, time.Now()
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer done()
		defer close(out)
		var (
			last    []string
			first   = true
			session int64
			expired bool
		)
		for ctx.Err() == nil {
			names, _, change, err := s.conn.ChildrenW(kp)
			if errors.Is(err, zk.ErrNoNode) {
				var ok bool
				ok, _, change, err = s.conn.ExistsW(kp)
				if err == nil && ok {
					continue // created in between
				}
				names = nil
			}
			if err != nil {
				if !s.waitToRearm(ctx, err, kp, "re-arming ZooKeeper children watch") {
					return
				}
				continue
			}
			if s.sessionChanged(&session, &expired) {
				first = true
				if !emit(statemgr.Event{Type: statemgr.EventReconnected}) {
					return
				}
			}
			names = slices.Clone(names)
			if names == nil {
				names = []string{}
			}
			sort.Strings(names)
			if first || !slices.Equal(names, last) {
				first, last = false, names
				if !emit(statemgr.Event{Type: statemgr.EventChildren, Children: names}) {
					return
				}
			}
			if !waitZK(ctx, change, &expired) {
				return
			}
		}
	}()
	return out, nil
}
