package testscripts

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/binaries"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/topology"
)

func init() {
	commands["mkdefn"] = cmdMkDefn
	commands["mkyamlpkg"] = cmdMkYAMLPkg
	commands["mkevilpkg"] = cmdMkEvilPkg
	commands["noprocs"] = cmdNoProcs
	// [local-executor]: heron-executor can run containers here, either
	// in-process (registered) or from PATH (make test puts bin/ there).
	// Under CI=true its absence is an error, not a skip.
	conditions["local-executor"] = func() (bool, error) {
		if _, ok := binaries.Apps["heron-executor"]; ok {
			return true, nil
		}
		if _, err := exec.LookPath("heron-executor"); err == nil {
			return true, nil
		}
		if os.Getenv("CI") == "true" {
			return false, fmt.Errorf("heron-executor is neither registered in lib/binaries nor on PATH; run make build")
		}
		return false, nil
	}
}

// cmdMkDefn compiles a topology YAML into a .defn file, as a Heron
// topology program would write it:
//
//	mkdefn topo/wordcount.yaml WordCount.defn
func cmdMkDefn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkdefn YAML OUT.defn")
	}
	_, b := compileDefn(ts, args[0])
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}

// compileDefn loads and compiles a topology YAML, and returns it with its
// <name>.defn bytes.
func compileDefn(ts *testscript.TestScript, yaml string) (*topology.Definition, []byte) {
	def, err := topology.Load(ts.MkAbs(yaml))
	ts.Check(err)
	top, err := def.Compile(topology.CompileOptions{})
	ts.Check(err)
	b, err := nodes.Marshal(top)
	ts.Check(err)
	return def, b
}

// cmdMkYAMLPkg builds a topology package from a folder and a YAML topology:
//
//	mkyamlpkg topo/wordcount.yaml topology.tar.gz
func cmdMkYAMLPkg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkyamlpkg YAML OUT.tar.gz")
	}
	def, b := compileDefn(ts, args[0])
	_, err := pkgtar.BuildFile(ts.MkAbs(args[1]), pkgtar.Contents{TopologyDir: def.Dir, DefnName: def.Name + ".defn", Defn: b, Override: []byte("{}\n")}, pkgtar.Limits{})
	ts.Check(err)
}

// cmdMkEvilPkg writes a .tar.gz whose entry climbs out of the destination
// (KIND dotdot), or holds a symlink pointing out of it (KIND symlink):
//
//	mkevilpkg dotdot evil.tar.gz
func cmdMkEvilPkg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkevilpkg dotdot|symlink OUT.tar.gz")
	}
	f, err := os.Create(ts.MkAbs(args[1]))
	ts.Check(err)
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	switch args[0] {
	case "dotdot":
		ts.Check(tw.WriteHeader(&tar.Header{Name: "../escaped.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4}))
		_, err = tw.Write([]byte("evil"))
		ts.Check(err)
	case "symlink":
		ts.Check(tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../.."}))
	default:
		ts.Fatalf("mkevilpkg: unknown kind %q", args[0])
	}
	ts.Check(tw.Close())
	ts.Check(zw.Close())
}

// cmdNoProcs waits (up to 20 s) until no process runs in or below DIR
// (by working directory), and fails naming those left:
//
//	noprocs $HOME/.herondata/topologies
func cmdNoProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: noprocs DIR")
	}
	dir, err := filepath.EvalSymlinks(ts.MkAbs(args[0]))
	if err != nil {
		return // the folder is gone, so nothing runs there
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := testserver.ProcsUnder(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, pid := range slices.Sorted(maps.Keys(left)) {
				lines = append(lines, fmt.Sprintf("%d %s", pid, left[pid]))
			}
			ts.Fatalf("processes still run in %s:\n%s", dir, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
