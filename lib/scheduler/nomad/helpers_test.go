package nomad

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/topology"
)

// confDir is the repository's conf/ folder, holding conf/nomad.
var confDir = filepath.Join("..", "..", "..", "conf")

const testTopologyYAML = `name: WordCount
config:
  topology.stmgrs: 2
spouts:
  - name: sentences
    command: ./sentences.sh
    parallelism: 2
bolts:
  - name: count
    command: "awk '{ n[$1]++; print $1, n[$1]; fflush() }'"
    parallelism: 2
streams:
  - {from: sentences, to: count, grouping: shuffle}
`

// testTopology compiles the small word count in a temp folder.
func testTopology(t testing.TB) (*apipb.Topology, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "wordcount.yaml")
	if err := os.WriteFile(p, []byte(testTopologyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\nwhile :; do echo the cow; sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	def, err := topology.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	top, err := def.Compile(topology.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return top, dir
}

// loadConfig loads conf/nomad for the topology, with properties over it.
func loadConfig(t testing.TB, top *apipb.Topology, props ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: confDir, Cluster: "nomad", Role: "streamer", SubmitUser: "streamer",
		Topology: top.GetName(), TopologyID: top.GetId(), HeronHome: "/opt/heron", Home: t.TempDir(), Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.With(map[string]any{
		scheduler.KeyBinaryFile: "wordcount.yaml",
		scheduler.KeyDefnFile:   top.GetName() + ".defn",
	})
}

// pack makes the round-robin plan of the topology.
func pack(t testing.TB, cfg *config.Config, top *apipb.Topology) *packing.Plan {
	t.Helper()
	o, err := packing.OptionsFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := packing.New("roundrobin", o)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Pack(top)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
