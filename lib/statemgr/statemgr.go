// Package statemgr is the byte-level contract every Heron state-manager backend
// implements: nodes live at <root>/<kind>/<topology> and hold raw proto2 bytes,
// exactly as Heron's own state managers store them.
//
// Typed access (protobuf messages, JSON) sits on top, in package statemgr/nodes,
// so backends never need to know the message types.
package statemgr

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Kind is a state subtree: the directory (local FS) or znode (ZooKeeper) under
// the root that holds one node per topology.
type Kind string

// The nine subtrees Heron's Java state manager initialises.
const (
	Topologies          Kind = "topologies"
	PackingPlans        Kind = "packingplans"
	ExecutionState      Kind = "executionstate"
	Schedulers          Kind = "schedulers"
	TManagers           Kind = "tmanagers"
	PhysicalPlans       Kind = "pplans"
	MetricsCaches       Kind = "metricscaches"
	StatefulCheckpoints Kind = "statefulcheckpoints"
	Locks               Kind = "locks"
)

// Kinds lists every subtree in the order Heron's Java initTree creates them.
var Kinds = []Kind{TManagers, MetricsCaches, Topologies, PackingPlans, PhysicalPlans,
	ExecutionState, Schedulers, StatefulCheckpoints, Locks}

// Valid reports whether k is one of Heron's subtrees.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Portable errors. Backends wrap their native errors so that callers can use
// errors.Is without knowing the backend.
var (
	ErrNotFound    = exitcode.New(exitcode.NotFound, "node does not exist")
	ErrExists      = exitcode.New(exitcode.Conflict, "node already exists")
	ErrUnavailable = exitcode.New(exitcode.Unavailable, "state manager unavailable")
	ErrLocked      = exitcode.New(exitcode.Conflict, "lock is held by another process")
	ErrClosed      = errors.New("state manager closed")
	// ErrInvalidName: a kind, topology or lock name that cannot be a node.
	ErrInvalidName = errors.New("invalid node name")
)

// CreateOptions tunes Create.
type CreateOptions struct {
	// Ephemeral nodes vanish when the writer's session ends (ZooKeeper). The
	// local file system has no sessions, so there the flag is ignored, as in Heron.
	Ephemeral bool
}

// EventType says what happened to a watched node.
type EventType string

const (
	// EventCreated: the node appeared (or exists when the watch starts).
	EventCreated EventType = "created"
	// EventChanged: the node's bytes changed.
	EventChanged EventType = "changed"
	// EventDeleted: the node is gone (or absent when the watch starts).
	EventDeleted EventType = "deleted"
	// EventChildren: the set of topologies under a kind changed.
	EventChildren EventType = "children"
	// EventReconnected: the backend lost and regained its session; watchers
	// should re-read, since changes may have been missed.
	EventReconnected EventType = "reconnected"
)

// Event is one observation by a watch. Data holds the node's bytes for
// created/changed events; Children holds the sorted names for children events.
type Event struct {
	Type     EventType
	Kind     Kind
	Topology string
	Data     []byte
	Children []string
	Time     time.Time
}

// Store is one state manager: a cluster's root in ZooKeeper or on the local
// file system. All methods are safe for concurrent use.
type Store interface {
	// Init creates the root and the nine subtrees if they are missing.
	Init(ctx context.Context) error
	// Get returns the node's bytes, or ErrNotFound.
	Get(ctx context.Context, kind Kind, topology string) ([]byte, error)
	// Create writes a new node, or fails with ErrExists.
	Create(ctx context.Context, kind Kind, topology string, data []byte, opts CreateOptions) error
	// Set creates or overwrites a node. Readers never see a partial write.
	Set(ctx context.Context, kind Kind, topology string, data []byte) error
	// Delete removes a node (recursively for locks). A missing node is not an error.
	Delete(ctx context.Context, kind Kind, topology string) error
	// List returns the sorted topology names that have a node under kind.
	List(ctx context.Context, kind Kind) ([]string, error)
	// Watch reports the node's current state at once, then every change, until
	// ctx ends; the channel is closed then. Watches survive reconnects and
	// session expiry.
	Watch(ctx context.Context, kind Kind, topology string) (<-chan Event, error)
	// WatchChildren reports the current set of names under kind at once, then
	// every time the set changes, until ctx ends.
	WatchChildren(ctx context.Context, kind Kind) (<-chan Event, error)
	// Lock takes the named lock of a topology (Heron: <root>/locks/<topology>__<name>),
	// waiting up to timeout. The returned func releases it.
	Lock(ctx context.Context, topology, name string, timeout time.Duration) (unlock func() error, err error)
	// Root is the root path this store serves.
	Root() string
	// URI is a string that Open accepts to reach the same store.
	URI() string
	// Close releases connections; ephemeral nodes this store created vanish.
	Close() error
}

// Options carries the statemgr.yaml settings a backend may use.
type Options struct {
	// ConnectionTimeout bounds the first connection (ZooKeeper).
	ConnectionTimeout time.Duration
	// SessionTimeout is the ZooKeeper session timeout.
	SessionTimeout time.Duration
	// RetryCount and RetryInterval govern retries of failed operations.
	RetryCount    int
	RetryInterval time.Duration
	// InitTree creates the root and subtrees on open (Heron's is.initialize.tree keys).
	InitTree bool
}

// DefaultOptions are Heron's defaults from ZkContext, shortened where Heron's
// values (30 s connect, 10 s retry sleep) would make a command-line tool hang.
func DefaultOptions() Options {
	return Options{
		ConnectionTimeout: 30 * time.Second,
		SessionTimeout:    30 * time.Second,
		RetryCount:        10,
		RetryInterval:     time.Second,
		InitTree:          true,
	}
}

// Opener opens a store from a parsed URI.
type Opener func(ctx context.Context, u *url.URL, opts Options) (Store, error)

var (
	regMu   sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes a backend available under a URI scheme. Registering a scheme
// twice panics: it is a programming error.
func Register(scheme string, open Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := openers[scheme]; dup {
		panic("statemgr: scheme registered twice: " + scheme)
	}
	openers[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	s := make([]string, 0, len(openers))
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open opens the store a URI names: file:///path or zk://h1:2181,h2:2181/root.
// A bare path (absolute or starting with ~) is taken as a local file-system root.
func Open(ctx context.Context, uri string, opts Options) (Store, error) {
	if strings.HasPrefix(uri, "/") || uri == "~" || strings.HasPrefix(uri, "~/") {
		uri = "file://" + uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("state manager URI %q: %w", uri, err)
	}
	regMu.RLock()
	open, ok := openers[strings.ToLower(u.Scheme)]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("state manager URI %q: unknown scheme %q (use one of %s)",
			uri, u.Scheme, strings.Join(Schemes(), ", "))
	}
	return open(ctx, u, opts)
}

// ValidTopologyName reports whether name can be a node name. Heron does not
// escape names, so a slash or a dot-only name would leave the subtree.
func ValidTopologyName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: topology name is empty", ErrInvalidName)
	case name == "." || name == "..":
		return fmt.Errorf("%w: topology name %q is not allowed", ErrInvalidName, name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%w: topology name %q contains '/' or NUL", ErrInvalidName, name)
	}
	return nil
}

// LockPath is the node name Heron uses for a topology lock.
func LockPath(topology, name string) string { return topology + "__" + name }

// LockNode checks a lock's topology and name and returns the lock's node
// name under the locks subtree.
func LockNode(topology, name string) (string, error) {
	if err := ValidTopologyName(name); err != nil {
		return "", fmt.Errorf("lock name: %w", err)
	}
	if err := ValidTopologyName(topology); err != nil {
		return "", err
	}
	return LockPath(topology, name), nil
}
