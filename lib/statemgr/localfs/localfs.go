// Package localfs is the local file-system state manager, registered under
// the URI scheme file (file:///abs/path, file://~/path or a bare path).
//
// The layout is Heron's: each node is a regular file <root>/<kind>/<topology>
// holding the raw bytes, so Heron's own Java, C++ and Python code can share a
// root with this package. Differences from Heron, all on the safe side:
//
//   - Every write is atomic: the bytes go to a hidden temp file in the same
//     directory (.<topology>.tmp-<random>), which is synced and then renamed
//     (Set) or hard-linked (Create) into place. Readers never see a partial
//     file, and two racing Creates cannot both win.
//   - Watches exist (Heron's Java has none, its Python polls every 5 s): they
//     wake on inotify events and also poll every 250 ms, comparing bytes, so
//     nothing is missed when inotify is unavailable or a directory is
//     recreated.
//   - Locks poll every 100 ms instead of Heron's 2 s.
//
// As in Heron's Java, an empty file reads as a missing node (a non-atomic
// Heron overwrite can leave one), and the ephemeral flag is ignored: files
// outlive the process that wrote them.
package localfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heronkit/heronkit/lib/statemgr"
)

func init() {
	statemgr.Register("file", func(ctx context.Context, u *url.URL, opts statemgr.Options) (statemgr.Store, error) {
		root, err := RootFromURL(u)
		if err != nil {
			return nil, err
		}
		return Open(ctx, root, opts)
	})
}

// Timings. PollInterval bounds how late a watch can be when inotify misses
// an event; LockPollInterval is how often a waiting Lock retries.
const (
	PollInterval     = 250 * time.Millisecond
	LockPollInterval = 100 * time.Millisecond
)

// Store is a state root on the local file system.
type Store struct {
	root   string
	holder string // written into lock files: pid@host

	ctx    context.Context // ends at Close; watches and lock waits stop
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	watchers sync.WaitGroup
	notify   *notifier // nil until the first watch; nil forever without inotify
	notifyOK bool      // notifier creation was attempted
}

// RootFromURL returns the absolute root a file: URI names, with a leading ~
// expanded to the home directory.
func RootFromURL(u *url.URL) (string, error) {
	var p string
	switch {
	case u.Opaque != "": // file:~/x or file:rel
		p = u.Opaque
	case u.Host == "~" || strings.HasPrefix(u.Host, "~"):
		p = u.Host + u.Path
	case u.Host == "" || u.Host == "localhost":
		p = u.Path
		if strings.HasPrefix(p, "/~") {
			p = p[1:]
		}
	default:
		return "", fmt.Errorf("state manager URI %q: host %q not supported; use file:///absolute/path", u.String(), u.Host)
	}
	return ExpandRoot(p)
}

// ExpandRoot expands a leading ~ (or ~/) to the home directory and requires
// the result to be an absolute path; it drops trailing slashes.
func ExpandRoot(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~ in state root %q: %w", p, err)
		}
		p = home + p[1:]
	} else if strings.HasPrefix(p, "~") {
		return "", fmt.Errorf("state root %q: only ~ or ~/ (the current user's home) can be expanded", p)
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("state root %q is not an absolute path; use file:///absolute/path or ~/path", p)
	}
	return filepath.Clean(p), nil
}

// Open returns a store for an absolute root (a leading ~ is expanded). With
// opts.InitTree it creates the root and the nine subtrees.
func Open(ctx context.Context, root string, opts statemgr.Options) (*Store, error) {
	root, err := ExpandRoot(root)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	s := &Store{root: root, holder: fmt.Sprintf("%d@%s", os.Getpid(), host)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opts.InitTree {
		if err := s.Init(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Root is the absolute root directory.
func (s *Store) Root() string { return s.root }

// URI is file://<root>.
func (s *Store) URI() string { return (&url.URL{Scheme: "file", Path: s.root}).String() }

// Init creates the root and the nine subtrees (mode 0755) if they are missing.
func (s *Store) Init(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, k := range statemgr.Kinds {
		if err := os.MkdirAll(filepath.Join(s.root, string(k)), 0o755); err != nil {
			return fmt.Errorf("initialise state tree at %s: %w", s.root, err)
		}
	}
	return nil
}

// path checks kind and name and returns the node's file. Names List would
// hide (dot-files, *.tmp) are refused so that every node written is listed.
func (s *Store) path(kind statemgr.Kind, topology string) (string, error) {
	if !kind.Valid() {
		return "", fmt.Errorf("%w: unknown kind %q", statemgr.ErrInvalidName, kind)
	}
	if err := statemgr.ValidTopologyName(topology); err != nil {
		return "", err
	}
	if hidden(topology) {
		return "", fmt.Errorf("%w: topology name %q starts with '.' or ends in .tmp, which the local state manager reserves for temp files",
			statemgr.ErrInvalidName, topology)
	}
	return filepath.Join(s.root, string(kind), topology), nil
}

// hidden reports names that are temp files, not nodes: ours (.<name>.tmp-*),
// Heron C++'s (<name>.tmp) and any other dot-file.
func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp")
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

func nodeName(kind statemgr.Kind, topology string) string { return string(kind) + "/" + topology }

// Get returns the node's bytes; a missing or empty file is ErrNotFound.
func (s *Store) Get(ctx context.Context, kind statemgr.Kind, topology string) ([]byte, error) {
	p, err := s.path(kind, topology)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	b, err := read(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", nodeName(kind, topology), err)
	}
	return b, nil
}

// read returns a file's bytes, mapping missing and empty files to ErrNotFound.
func read(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, statemgr.ErrNotFound
	case err != nil:
		return nil, err
	case len(b) == 0:
		return nil, statemgr.ErrNotFound
	}
	return b, nil
}

// Set atomically creates or replaces the node.
func (s *Store) Set(ctx context.Context, kind statemgr.Kind, topology string, data []byte) error {
	p, err := s.path(kind, topology)
	if err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return fmt.Errorf("set %s: %w", nodeName(kind, topology), err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("set %s: %w", nodeName(kind, topology), err)
	}
	return syncDir(filepath.Dir(p))
}

// Create atomically writes a new node, or fails with ErrExists. Ephemeral is
// ignored: the local file system has no sessions.
func (s *Store) Create(ctx context.Context, kind statemgr.Kind, topology string, data []byte, _ statemgr.CreateOptions) error {
	p, err := s.path(kind, topology)
	if err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := createAtomic(p, data); err != nil {
		return fmt.Errorf("create %s: %w", nodeName(kind, topology), err)
	}
	return nil
}

// createAtomic puts a complete file at p only if nothing is there.
func createAtomic(p string, data []byte) error {
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, p)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// File systems without hard links: rename that refuses to replace.
		if err2 := renameNoReplace(tmp, p); !errors.Is(err2, errors.ErrUnsupported) {
			err = err2
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return statemgr.ErrExists
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// writeTemp writes data to a synced hidden temp file next to p.
func writeTemp(p string, data []byte) (string, error) {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("directory %s is missing; initialise the state tree first: %w", dir, statemgr.ErrNotFound)
		}
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// syncDir makes a rename or link durable. File systems that cannot sync a
// directory (EINVAL) are accepted as they are.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Delete removes the node; a missing node is not an error. Under locks the
// node is removed recursively.
func (s *Store) Delete(ctx context.Context, kind statemgr.Kind, topology string) error {
	p, err := s.path(kind, topology)
	if err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	if kind == statemgr.Locks {
		err = os.RemoveAll(p)
	} else {
		err = os.Remove(p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", nodeName(kind, topology), err)
	}
	return nil
}

// List returns the sorted names of the regular files under kind, skipping
// temp files. A missing subtree is ErrNotFound.
func (s *Store) List(ctx context.Context, kind statemgr.Kind) ([]string, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("%w: unknown kind %q", statemgr.ErrInvalidName, kind)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	names, err := list(filepath.Join(s.root, string(kind)))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return names, nil
}

func list(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, statemgr.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if hidden(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Lock creates <root>/locks/<topology>__<name> if absent, holding pid@host,
// retrying every LockPollInterval until timeout; then ErrLocked. The file is
// not tied to the process: a crashed holder leaves it until Delete(locks, ...).
func (s *Store) Lock(ctx context.Context, topology, name string, timeout time.Duration) (func() error, error) {
	lockName, err := statemgr.LockNode(topology, name)
	if err != nil {
		return nil, err
	}
	p, err := s.path(statemgr.Locks, lockName)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	var wake <-chan struct{}
	for {
		if err := s.check(ctx); err != nil {
			return nil, err
		}
		err := createAtomic(p, []byte(s.holder))
		if err == nil {
			var once sync.Once
			var uerr error
			return func() error {
				once.Do(func() {
					if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
						uerr = fmt.Errorf("unlock %s: %w", lockName, err)
					}
				})
				return uerr
			}, nil
		}
		if !errors.Is(err, statemgr.ErrExists) {
			return nil, fmt.Errorf("lock %s: %w", lockName, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			holder, _ := os.ReadFile(p)
			return nil, fmt.Errorf("lock %s (held by %q) not free after %s: %w", lockName, holder, timeout, statemgr.ErrLocked)
		}
		if wake == nil {
			var unsub func()
			wake, unsub = s.subscribe(filepath.Dir(p), lockName)
			defer unsub()
		}
		t := time.NewTimer(min(left, LockPollInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.ctx.Done():
			t.Stop()
			return nil, statemgr.ErrClosed
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Close ends all watches (their channels close) and refuses further calls.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.watchers.Wait()
	s.mu.Lock()
	n := s.notify
	s.mu.Unlock()
	if n != nil {
		n.close()
	}
	return nil
}

// startWatcher registers a watch goroutine so that Close can wait for it.
func (s *Store) startWatcher(ctx context.Context) (context.Context, context.CancelFunc, error) {
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

// subscribe returns a channel woken when inotify sees name (or, for "", any
// entry) change in dir; without inotify it never fires and polling remains.
func (s *Store) subscribe(dir, name string) (<-chan struct{}, func()) {
	s.mu.Lock()
	if !s.notifyOK && !s.closed {
		s.notifyOK = true
		s.notify = newNotifier()
	}
	n := s.notify
	s.mu.Unlock()
	if n == nil {
		return nil, func() {}
	}
	return n.subscribe(dir, name)
}

// Watch reports the node's state at once, then each creation, change of bytes
// and deletion, until ctx ends or the store is closed.
func (s *Store) Watch(ctx context.Context, kind statemgr.Kind, topology string) (<-chan statemgr.Event, error) {
	p, err := s.path(kind, topology)
	if err != nil {
		return nil, err
	}
	ctx, done, err := s.startWatcher(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan statemgr.Event, 1)
	wake, unsub := s.subscribe(filepath.Dir(p), topology)
	go func() {
		defer done()
		defer close(ch)
		defer unsub()
		tick := time.NewTicker(PollInterval)
		defer tick.Stop()
		var last []byte
		exists, first := false, true
		for {
			data, err := read(p)
			var ev *statemgr.Event
			switch {
			case err == nil && (first || !exists):
				ev = &statemgr.Event{Type: statemgr.EventCreated, Data: data}
			case err == nil && !bytes.Equal(data, last):
				ev = &statemgr.Event{Type: statemgr.EventChanged, Data: data}
			case errors.Is(err, statemgr.ErrNotFound) && (first || exists):
				ev = &statemgr.Event{Type: statemgr.EventDeleted}
			}
			if err == nil || errors.Is(err, statemgr.ErrNotFound) {
				exists, last, first = err == nil, data, false
			}
			if ev != nil {
				ev.Kind, ev.Topology, ev.Time = kind, topology, time.Now()
				select {
				case ch <- *ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick.C:
			}
		}
	}()
	return ch, nil
}

// WatchChildren reports the names under kind at once (none if the subtree is
// missing), then every time the set changes.
func (s *Store) WatchChildren(ctx context.Context, kind statemgr.Kind) (<-chan statemgr.Event, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("%w: unknown kind %q", statemgr.ErrInvalidName, kind)
	}
	dir := filepath.Join(s.root, string(kind))
	ctx, done, err := s.startWatcher(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan statemgr.Event, 1)
	wake, unsub := s.subscribe(dir, "")
	go func() {
		defer done()
		defer close(ch)
		defer unsub()
		tick := time.NewTicker(PollInterval)
		defer tick.Stop()
		var last []string
		first := true
		for {
			names, err := list(dir)
			if errors.Is(err, statemgr.ErrNotFound) {
				names, err = []string{}, nil
			}
			if err == nil && (first || !slices.Equal(names, last)) {
				first, last = false, names
				select {
				case ch <- statemgr.Event{Type: statemgr.EventChildren, Kind: kind, Children: names, Time: time.Now()}:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick.C:
			}
		}
	}()
	return ch, nil
}
