package localfs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/localfs"
	"github.com/heronkit/heronkit/lib/statemgr/statemgrtest"
)

func open(t testing.TB) statemgr.Store {
	s, err := statemgr.Open(context.Background(), "file://"+t.TempDir()+"/state/local", statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	statemgrtest.Run(t, func(t *testing.T) statemgr.Store { return open(t) })
}

func TestHeronLayout(t *testing.T) {
	s := open(t)
	for _, k := range statemgr.Kinds {
		if fi, err := os.Stat(filepath.Join(s.Root(), string(k))); err != nil || !fi.IsDir() {
			t.Fatalf("subtree %s not created: %v", k, err)
		}
	}
	ctx := context.Background()
	if err := s.Set(ctx, statemgr.PhysicalPlans, "wc", []byte("pp")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Root(), "pplans", "wc"))
	if err != nil || string(b) != "pp" {
		t.Fatalf("node file = %q, %v", b, err)
	}
	unlock, err := s.Lock(ctx, "wc", "updateTopology", 0)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := os.ReadFile(filepath.Join(s.Root(), "locks", "wc__updateTopology"))
	if err != nil || !strings.Contains(string(holder), "@") {
		t.Fatalf("lock file holds %q, %v; want pid@host", holder, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "locks", "wc__updateTopology")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file left after unlock: %v", err)
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "pplans"))
	if len(ents) != 1 {
		t.Fatalf("pplans holds %d entries, want only wc", len(ents))
	}
}

// Files written by Heron itself: empty files read as missing, temp files
// (ours and Heron C++'s <name>.tmp) and directories are not nodes.
func TestHeronFiles(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dir := filepath.Join(s.Root(), "topologies")
	for name, data := range map[string]string{"empty": "", "full": "x", "heron.tmp": "partial", ".full.tmp-123": "partial"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "adir"), 0o755)
	_, err := s.Get(ctx, statemgr.Topologies, "empty")
	if !errors.Is(err, statemgr.ErrNotFound) {
		t.Fatalf("Get of empty file: %v, want ErrNotFound", err)
	}
	names, err := s.List(ctx, statemgr.Topologies)
	if err != nil || !slices.Equal(names, []string{"empty", "full"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	// Names List would hide cannot be written.
	for _, n := range []string{".hidden", "x.tmp"} {
		if err := s.Set(ctx, statemgr.Topologies, n, []byte("x")); !errors.Is(err, statemgr.ErrInvalidName) {
			t.Fatalf("Set(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	// An empty node watches as absent.
	ch, err := s.Watch(ctx, statemgr.Topologies, "empty")
	if err != nil {
		t.Fatal(err)
	}
	if ev := statemgrtest.Next(t, ch); ev.Type != statemgr.EventDeleted {
		t.Fatalf("watch of empty file: %v, want deleted", ev.Type)
	}
}

func TestMissingTree(t *testing.T) {
	opts := statemgr.DefaultOptions()
	opts.InitTree = false
	root := filepath.Join(t.TempDir(), "none")
	s, err := statemgr.Open(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open without InitTree created the root: %v", err)
	}
	err = s.Set(ctx, statemgr.Topologies, "t", []byte("x"))
	if !errors.Is(err, statemgr.ErrNotFound) || !strings.Contains(err.Error(), "initialise") {
		t.Fatalf("Set without a tree: %v", err)
	}
	if _, err := s.List(ctx, statemgr.Topologies); !errors.Is(err, statemgr.ErrNotFound) {
		t.Fatalf("List without a tree: %v", err)
	}
	// A watch started before the tree exists picks it up once created.
	ch, err := s.WatchChildren(ctx, statemgr.Topologies)
	if err != nil {
		t.Fatal(err)
	}
	if ev := statemgrtest.Next(t, ch); len(ev.Children) != 0 {
		t.Fatalf("first children event %v, want empty", ev.Children)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, statemgr.Topologies, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	statemgrtest.WaitFor(t, ch, "children [t]", func(ev statemgr.Event) bool { return slices.Equal(ev.Children, []string{"t"}) })
}

func TestRootFromURI(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	for uri, want := range map[string]string{
		"file:///var/heron/state/": "/var/heron/state",
		"/var/heron/state":         "/var/heron/state",
		"file://~/.herondata/s":    home + "/.herondata/s",
		"~/.herondata/s":           home + "/.herondata/s",
		"file:~/x":                 home + "/x",
		"file://localhost/srv/s":   "/srv/s",
	} {
		opts := statemgr.DefaultOptions()
		opts.InitTree = false
		s, err := statemgr.Open(context.Background(), uri, opts)
		if err != nil {
			t.Errorf("Open(%q): %v", uri, err)
			continue
		}
		if s.Root() != want {
			t.Errorf("Open(%q).Root() = %q, want %q", uri, s.Root(), want)
		}
		s.Close()
	}
	for _, uri := range []string{"file://otherhost/x", "file:relative/path", "file://~other/x"} {
		if _, err := statemgr.Open(context.Background(), uri, statemgr.DefaultOptions()); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", uri)
		}
	}
	if _, err := localfs.ExpandRoot("rel"); err == nil {
		t.Error("ExpandRoot(rel) succeeded")
	}
}

func BenchmarkGet(b *testing.B)          { statemgrtest.BenchGet(b, open(b)) }
func BenchmarkSet(b *testing.B)          { statemgrtest.BenchSet(b, open(b)) }
func BenchmarkWatchLatency(b *testing.B) { statemgrtest.BenchWatchLatency(b, open(b)) }
