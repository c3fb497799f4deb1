// Package statecmd implements heron-statemgr's operations on a state manager:
// list, get, set, delete, watch and init, with JSON in and out.
package statecmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// maxInput bounds what set reads from stdin: state nodes are small, and a
// runaway pipe must not exhaust memory.
const maxInput = 64 << 20

// List writes {"state_manager": uri, "topologies": [...]}.
func List(ctx context.Context, s statemgr.Store, w io.Writer) error {
	names, err := s.List(ctx, statemgr.Topologies)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	return cli.WriteJSON(w, map[string]any{"state_manager": s.URI(), "topologies": names})
}

// Kind resolves a kind argument, as a usage error when unknown.
func Kind(name string) (statemgr.Kind, error) {
	k, err := nodes.KindOf(name)
	if err != nil {
		return "", exitcode.Wrap(exitcode.Usage, err)
	}
	return k, nil
}

func checkName(topology string) error {
	if err := statemgr.ValidTopologyName(topology); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return nil
}

// Get writes the node as JSON, or its raw bytes.
func Get(ctx context.Context, s statemgr.Store, kind statemgr.Kind, topology string, raw bool, w io.Writer) error {
	if err := checkName(topology); err != nil {
		return err
	}
	b, err := s.Get(ctx, kind, topology)
	if err != nil {
		return describe(err, kind, topology)
	}
	if raw {
		_, err := w.Write(b)
		return err
	}
	m, err := nodes.Decode(kind, b)
	if err != nil {
		return exitcode.WithHint(fmt.Errorf("%s of %s: %w", nodes.NameOf(kind), topology, err),
			"use --raw to see the bytes, or set/delete the node to repair it")
	}
	j, err := nodes.ToJSON(m)
	if err != nil {
		return exitcode.Wrap(exitcode.DataErr, fmt.Errorf("%s of %s: %w", nodes.NameOf(kind), topology, err))
	}
	_, err = fmt.Fprintf(w, "%s\n", j)
	return err
}

// Set reads JSON (or raw protobuf bytes) from r, validates it as the node's
// message with every required field, and writes it. Nothing is written when
// validation fails. create refuses to overwrite an existing node.
func Set(ctx context.Context, s statemgr.Store, kind statemgr.Kind, topology string, raw, create bool, r io.Reader) (map[string]any, error) {
	if err := checkName(topology); err != nil {
		return nil, err
	}
	in, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(in) > maxInput {
		return nil, exitcode.Errorf(exitcode.DataErr, "input is larger than %d MiB", maxInput>>20)
	}
	var m proto.Message
	if raw {
		m, err = nodes.Decode(kind, in)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.DataErr, err)
		}
	} else {
		m, err = nodes.FromJSON(kind, in)
		if err != nil {
			return nil, exitcode.WithHint(exitcode.Wrap(exitcode.DataErr, err),
				fmt.Sprintf("the input must be one JSON object shaped like the output of 'heron-statemgr get %s'", nodes.NameOf(kind)))
		}
	}
	b, err := nodes.Marshal(m)
	if err != nil {
		return nil, exitcode.WithHint(exitcode.Wrap(exitcode.DataErr, fmt.Errorf("invalid %s: %w", nodes.NameOf(kind), err)),
			"every required field of the message must be set")
	}
	if create {
		err = s.Create(ctx, kind, topology, b, statemgr.CreateOptions{})
	} else {
		err = s.Set(ctx, kind, topology, b)
	}
	if err != nil {
		return nil, describe(err, kind, topology)
	}
	return map[string]any{"kind": nodes.NameOf(kind), "topology": topology, "bytes": len(b), "written": true}, nil
}

// Delete removes a node; a missing node is not an error (as in Heron).
func Delete(ctx context.Context, s statemgr.Store, kind statemgr.Kind, topology string) (map[string]any, error) {
	if err := checkName(topology); err != nil {
		return nil, err
	}
	if err := s.Delete(ctx, kind, topology); err != nil {
		return nil, describe(err, kind, topology)
	}
	return map[string]any{"kind": nodes.NameOf(kind), "topology": topology, "deleted": true}, nil
}

// Init creates the root and the subtrees.
func Init(ctx context.Context, s statemgr.Store) (map[string]any, error) {
	if err := s.Init(ctx); err != nil {
		return nil, err
	}
	kinds := make([]string, len(statemgr.Kinds))
	for i, k := range statemgr.Kinds {
		kinds[i] = string(k)
	}
	return map[string]any{"state_manager": s.URI(), "root": s.Root(), "subtrees": kinds, "initialized": true}, nil
}

func describe(err error, kind statemgr.Kind, topology string) error {
	err = fmt.Errorf("%s of topology %q: %w", nodes.NameOf(kind), topology, err)
	if errors.Is(err, statemgr.ErrNotFound) {
		// The two usual causes: a misspelt name, or a topology not (yet) running.
		return exitcode.WithHint(err, "'heron-statemgr list' shows the topologies this state manager has; "+
			"tmanagerlocation and pplan exist only while the topology runs")
	}
	return err
}

// Change is one line of watch output.
type Change struct {
	Event    string          `json:"event"`
	Kind     string          `json:"kind"`
	Topology string          `json:"topology,omitempty"`
	Time     time.Time       `json:"time"`
	Value    json.RawMessage `json:"value,omitempty"`
	Raw      string          `json:"raw,omitempty"`
	Error    string          `json:"error,omitempty"`
	Children []string        `json:"topologies,omitempty"`
}

// Watch prints one JSON line per change until ctx ends. With no kind it
// watches every node of every topology; with a kind and no topology, that
// kind for every topology; with both, one node. Topologies are discovered
// through the topologies subtree (and the kind's own subtree), so nodes of
// topologies submitted later are picked up.
func Watch(ctx context.Context, s statemgr.Store, kinds []statemgr.Kind, topology string, raw bool, w io.Writer) error {
	if topology != "" {
		if err := checkName(topology); err != nil {
			return err
		}
	}
	out := make(chan Change, 64)
	var wg sync.WaitGroup
	forward := func(ch <-chan statemgr.Event) {
		defer wg.Done()
		for ev := range ch {
			select {
			case out <- render(ev, raw):
			case <-ctx.Done():
				return
			}
		}
	}
	var mu sync.Mutex
	watched := map[string]bool{}
	watchNode := func(kind statemgr.Kind, name string) error {
		key := string(kind) + "/" + name
		mu.Lock()
		defer mu.Unlock()
		if watched[key] {
			return nil
		}
		ch, err := s.Watch(ctx, kind, name)
		if err != nil {
			return err
		}
		watched[key] = true
		wg.Add(1)
		go forward(ch)
		return nil
	}
	errc := make(chan error, 1)
	if topology != "" {
		for _, k := range kinds {
			if err := watchNode(k, topology); err != nil {
				return err
			}
		}
	} else {
		// Discover topologies from their own subtree and from each watched kind.
		sources := append([]statemgr.Kind{statemgr.Topologies}, kinds...)
		seen := map[statemgr.Kind]bool{}
		for _, src := range sources {
			if seen[src] {
				continue
			}
			seen[src] = true
			ch, err := s.WatchChildren(ctx, src)
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ev := range ch {
					for _, name := range ev.Children {
						for _, k := range kinds {
							if err := watchNode(k, name); err != nil {
								select {
								case errc <- err:
								default:
								}
								return
							}
						}
					}
				}
			}()
		}
	}
	go func() { wg.Wait(); close(out) }()
	enc := json.NewEncoder(w)
	for {
		select {
		case c, ok := <-out:
			if !ok {
				return ctx.Err()
			}
			if err := enc.Encode(c); err != nil {
				return err
			}
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

func render(ev statemgr.Event, raw bool) Change {
	c := Change{Event: string(ev.Type), Kind: nodes.NameOf(ev.Kind), Topology: ev.Topology, Time: ev.Time}
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	if ev.Type == statemgr.EventChildren {
		c.Children = append([]string{}, ev.Children...)
		sort.Strings(c.Children)
		return c
	}
	if ev.Data == nil {
		return c
	}
	if raw {
		c.Raw = base64.StdEncoding.EncodeToString(ev.Data)
		return c
	}
	m, err := nodes.Decode(ev.Kind, ev.Data)
	if err == nil {
		var j []byte
		if j, err = nodes.ToJSON(m); err == nil {
			c.Value = j
			return c
		}
	}
	c.Error = err.Error()
	c.Raw = base64.StdEncoding.EncodeToString(ev.Data)
	return c
}
