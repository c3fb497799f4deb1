// Package submit is the topology lifecycle against a cluster, Heron's
// SubmitterMain and RuntimeManagerMain: submit, kill, activate, deactivate,
// restart, update and list. heron-submit calls it with command-line input
// and heron-apiserver with request input; it knows nothing of either.
//
// Submit writes the state manager in Heron's order (topology, packing plan,
// execution state; the scheduler writes its location, the topology manager
// the rest) and undoes every step when a later one fails, the uploaded
// package included. Every command has a dry run that returns what would be
// written and launched.
//
// # Inputs of submit
//
// A native topology YAML (lib/topology) is compiled here. A Heron topology
// binary (.jar, .tar, .tar.gz, .pex, .so, .dylib) comes with a precomputed
// <name>.defn (--defn), or its program is run as Heron's CLI runs it, with
// HERON_OPTIONS set (cmdline.topologydefn.tmpdirectory=<tmp>,
// cmdline.topology.initial.state, .role, .environment, .cluster, .file_name,
// .class_name, .submit_user; joined with ',', spaces as %%%%):
//
//   - .jar: java -client -Xmx1g [-D<prop>...] -cp <jar>:<heron home>/lib/third_party/* <class> <args>
//   - .tar/.tar.gz: unpacked (safely) into <tmp>/tmpN; the classpath is
//     <dir>/<base>.jar:<dir>/*:<dir>/libs/*:<heron home>/lib/third_party/*
//   - .pex with class "-": the pex runs as a program (loading a class from a
//     pex needs Heron's Python runtime and is refused)
//   - .so/.dylib: the class name is the executable that writes the .defn
//
// java is $JAVA_BIN, else $JAVA_HOME/bin/java, else java on PATH; <heron
// home> is the parent of the config path. Every <tmp>/*.defn the program
// writes is launched. The program must bring Heron's API itself (the jar's
// own dependencies or lib/third_party): this toolkit ships no Heron jars.
// heron-submit --service-url runs the program the same way (BinaryTopologies)
// and sends what it writes to the API server. Tests run this path with a
// stand-in java script (testscripts/heron-submit-dryrun.txtar,
// heron-apiserver-submit.txtar); no Heron API jar can be had where they run.
package submit

import (
	"context"
	"os"
	"os/user"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/statemgr"
	_ "github.com/heronkit/heronkit/lib/statemgr/all" // file:// and zk:// state
)

// Target is the cluster/role/env and configuration a command runs against.
type Target struct {
	Cluster, Role, Environ string
	// ConfigPath holds one folder per cluster (Heron's --config-path).
	ConfigPath string
	// Properties are --config-property KEY=VALUE overrides.
	Properties []string
	// SubmitUser defaults to the current user.
	SubmitUser string
	// ReleaseFile is an optional release.yaml.
	ReleaseFile string
}

// Options carry what a caller gives every command.
type Options struct {
	Log zerolog.Logger
	// ChildStderr receives the output of programs run to produce a .defn
	// (a topology's Java main, say); nil discards it.
	ChildStderr interface{ Write([]byte) (int, error) }
}

// LoadConfig loads the target's cluster folder for a topology (local mode,
// as Heron's client does), with heron.directory.home the config path's
// parent.
func LoadConfig(t Target, topology, topologyID string) (*config.Config, error) {
	user := t.SubmitUser
	if user == "" {
		user = currentUser()
	}
	home := ""
	if t.ConfigPath != "" {
		home = filepath.Dir(filepath.Clean(t.ConfigPath))
	}
	cfg, err := config.Load(config.LoadOptions{
		ConfigPath: t.ConfigPath, HeronHome: home,
		Cluster: t.Cluster, Role: t.Role, Environ: t.Environ, SubmitUser: user,
		Topology: topology, TopologyID: topologyID,
		ReleaseFile: t.ReleaseFile, Properties: t.Properties,
	})
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	return cfg, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// openStore opens the cluster's state manager.
func openStore(ctx context.Context, cfg *config.Config) (statemgr.Store, error) {
	uri, opts, err := config.StateManagerURI(cfg)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	return statemgr.Open(ctx, uri, opts)
}

// triple returns cluster, role, environ from a loaded config.
func triple(cfg *config.Config) (string, string, string) {
	c, _ := cfg.String(config.KeyCluster, "")
	r, _ := cfg.String(config.KeyRole, "")
	e, _ := cfg.String(config.KeyEnviron, "")
	return c, r, e
}
