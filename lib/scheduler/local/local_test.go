package local

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/freeport"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/localfs"
)

// serveEnv makes this test binary act as "heron-submit local-scheduler"
// when the launcher test starts it detached.
const serveEnv = "HERON_LOCAL_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		i := slices.Index(os.Args, "local-scheduler")
		opts, err := ParseServeArgs(os.Args[i+1:])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := Serve(ctx, opts, zerolog.New(os.Stderr)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	StopGrace = 3 * time.Second
	os.Exit(m.Run())
}

// fakeExecutor stands in for heron-executor in these supervision tests (the
// end-to-end tests in lib/submit use the real one): it records its pid and
// argv under $FAKE_DIR, leaves a child in a session of its own (which a
// crashed executor would orphan), and sleeps.
const fakeExecutor = `#!/bin/sh
shard=none
for a in "$@"; do case $a in --shard=*) shard=${a#--shard=};; esac; done
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo "$$ $!" > "$FAKE_DIR/pids/$shard.$$"
printf '%s\n' "$@" > "$FAKE_DIR/args/$shard"
exec sleep 300
`

type fixture struct {
	wd, fake, state string
	store           statemgr.Store
	top             *apipb.Topology
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{wd: t.TempDir(), fake: t.TempDir(), state: t.TempDir()}
	for _, d := range []string{"pids", "args", "bin"} {
		os.MkdirAll(filepath.Join(f.fake, d), 0o755)
	}
	t.Setenv("FAKE_DIR", f.fake)
	exe := filepath.Join(f.fake, "bin", "heron-executor")
	if err := os.WriteFile(exe, []byte(fakeExecutor), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(exe)+":"+os.Getenv("PATH"))
	def, err := topology.Parse(filepath.Join(f.wd, "t.yaml"), []byte(
		"name: T\nconfig: {topology.stmgrs: 2}\nspouts:\n  - {name: s, command: yes, parallelism: 2}\nbolts:\n  - {name: b, command: cat, parallelism: 2}\nstreams:\n  - {from: s, to: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.top, err = def.Compile(topology.CompileOptions{ID: "T-id"}); err != nil {
		t.Fatal(err)
	}
	f.store, err = statemgr.Open(context.Background(), "file://"+f.state, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	plan, err := (&packing.RoundRobin{Options: packing.DefaultOptions()}).Pack(f.top)
	if err != nil {
		t.Fatal(err)
	}
	c := nodes.Client{Store: f.store}
	ctx := context.Background()
	if err := c.Set(ctx, statemgr.Topologies, "T", f.top); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, statemgr.PackingPlans, "T", plan.Proto()); err != nil {
		t.Fatal(err)
	}
	return f
}

// writeConf writes a cluster folder whose state root is the fixture's.
func (f *fixture) writeConf(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	files := map[string]string{
		"statemgr.yaml":  "heron.class.state.manager: localfs\nheron.statemgr.connection.string: LOCALMODE\nheron.statemgr.root.path: " + f.state + "\n",
		"scheduler.yaml": "heron.class.launcher: local\nheron.scheduler.local.working.directory: " + f.wd + "\n",
		"uploader.yaml":  "heron.class.uploader: localfs\nheron.uploader.localfs.file.system.directory: " + filepath.Join(f.fake, "repo") + "\n",
		"client.yaml":    "heron.package.use_core_uri: false\n",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pids reads the fake executors' records: shard → [executor pid, child pid] per start.
func (f *fixture) pids(t *testing.T) map[string][][2]int {
	out := map[string][][2]int{}
	ents, _ := os.ReadDir(filepath.Join(f.fake, "pids"))
	for _, e := range ents {
		shard, _, _ := strings.Cut(e.Name(), ".")
		b, _ := os.ReadFile(filepath.Join(f.fake, "pids", e.Name()))
		var p [2]int
		if _, err := fmt.Sscan(string(b), &p[0], &p[1]); err == nil {
			out[shard] = append(out[shard], p)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) allDead(t *testing.T) {
	t.Helper()
	for shard, ps := range f.pids(t) {
		for _, p := range ps {
			for _, pid := range p {
				waitFor(t, fmt.Sprintf("shard %s process %d to end", shard, pid), func() bool { return !alive(pid) })
			}
		}
	}
}

// serveDir makes the fixture's working directory what a launch leaves
// (the .defn, heron-conf, heron-core/bin/heron-executor) and enters it.
func (f *fixture) serveDir(t *testing.T) {
	t.Helper()
	f.writeConf(t, filepath.Join(f.wd, "heron-conf"))
	b, _ := nodes.Marshal(f.top)
	os.WriteFile(filepath.Join(f.wd, "T.defn"), b, 0o644)
	os.MkdirAll(filepath.Join(f.wd, "heron-core", "bin"), 0o755)
	os.Symlink(filepath.Join(f.fake, "bin", "heron-executor"), filepath.Join(f.wd, "heron-core", "bin", "heron-executor"))
	t.Chdir(f.wd)
}

func TestServeSupervisesExecutors(t *testing.T) {
	f := newFixture(t)
	f.serveDir(t)

	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ServeOptions{Cluster: "local", Role: "r", Environ: "default", Topology: "T", TopologyBin: "t.yaml", HTTPPort: port}, zerolog.Nop())
	}()
	waitFor(t, "the scheduler location", func() bool {
		loc, err := nodes.Client{Store: f.store}.SchedulerLocation(ctx, "T")
		return err == nil && loc.GetHttpEndpoint() == "127.0.0.1:"+strconv.Itoa(port)
	})
	waitFor(t, "3 executors", func() bool { return len(f.pids(t)) == 3 })

	args, _ := os.ReadFile(filepath.Join(f.fake, "args", "1"))
	for _, want := range []string{"--topology-name=T", "--topology-id=T-id", "--topology-defn-file=T.defn", "--state-manager-connection=LOCALMODE",
		"--state-manager-root=" + f.state, "--state-manager-config-file=./heron-conf/statemgr.yaml", "--pkg-type=yaml", "--topology-binary-file=t.yaml",
		"--cluster=local", "--role=r", "--environment=default", "--shard=1"} {
		if !slices.Contains(strings.Split(string(args), "\n"), want) {
			t.Errorf("executor 1 argv lacks %s:\n%s", want, args)
		}
	}

	// Restart container 1 through Heron's scheduler protocol.
	old := f.pids(t)["1"][0]
	if err := scheduler.Restart(ctx, f.store, "T", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "executor 1 to be restarted", func() bool { return len(f.pids(t)["1"]) == 2 })
	waitFor(t, "the old executor 1 and its orphan to end", func() bool { return !alive(old[0]) && !alive(old[1]) })
	if err := scheduler.Restart(ctx, f.store, "T", 7); err == nil {
		t.Error("restart of a container that does not exist succeeded")
	}

	// A crashed executor is started again.
	crashed := f.pids(t)["2"][0]
	syscall.Kill(crashed[0], syscall.SIGKILL)
	waitFor(t, "executor 2 to come back", func() bool { return len(f.pids(t)["2"]) == 2 })

	if err := scheduler.Kill(ctx, f.store, "T"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("scheduler did not exit after kill")
	}
	// Every executor, and every child they left in other sessions, is gone.
	f.allDead(t)
	if _, err := os.Stat(filepath.Join(f.wd, PIDFile)); !os.IsNotExist(err) {
		t.Error("pid file left behind")
	}
}

// The launcher starts the scheduler detached (its own session), waits until
// it runs, and a kill over HTTP leaves no process behind.
func TestLaunchDetached(t *testing.T) {
	f := newFixture(t)
	conf := filepath.Join(t.TempDir(), "conf")
	f.writeConf(t, filepath.Join(conf, "local"))
	os.RemoveAll(f.wd) // the launcher creates it
	exe, _ := os.Executable()
	orig := SchedulerCommand
	SchedulerCommand = func() (Command, error) { return Command{Path: exe, Args: []string{exe, "local-scheduler"}}, nil }
	t.Cleanup(func() { SchedulerCommand = orig })

	ctx := context.Background()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "local", Role: "r", Topology: "T", TopologyID: "T-id"})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "t.yaml"), []byte("name: T\n"), 0o644)
	defn, _ := nodes.Marshal(f.top)
	pkg := filepath.Join(t.TempDir(), "topology.tar.gz")
	if _, err := pkgtar.BuildFile(pkg, pkgtar.Contents{TopologyDir: src, DefnName: "T.defn", Defn: defn, ClusterConfDir: filepath.Join(conf, "local"), Override: []byte("{}\n")}, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	up, err := uploader.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := up.Upload(ctx, pkg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.With(map[string]any{scheduler.KeyPackageURI: uri, scheduler.KeyBinaryFile: "t.yaml", scheduler.KeyDefnFile: "T.defn"})
	pp, _ := nodes.Client{Store: f.store}.PackingPlan(ctx, "T")
	job := &scheduler.Job{Topology: f.top, Plan: packing.FromProto(pp), Config: cfg, Store: f.store, Log: zerolog.Nop()}
	l := &Launcher{SchedulerEnv: []string{serveEnv + "=1"}}

	dry, err := l.DryRun(job)
	if err != nil || len(dry.Executors) != 3 || dry.Executors[0].Command[0] != "./heron-core/bin/heron-executor" {
		t.Fatalf("dry run %+v %v", dry, err)
	}
	launched, err := l.Launch(ctx, job)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(f.wd, LogFile))
		t.Fatalf("%v\n%s", err, b)
	}
	if sid := sessionOf(launched.SchedulerPID); sid != launched.SchedulerPID {
		t.Errorf("scheduler session %d, want its own (%d)", sid, launched.SchedulerPID)
	}
	waitFor(t, "3 executors", func() bool { return len(f.pids(t)) == 3 })
	if pid, ok := Running(f.wd); !ok || pid != launched.SchedulerPID {
		t.Errorf("Running = %d %v", pid, ok)
	}
	if _, err := l.Launch(ctx, job); err == nil {
		t.Error("a second launch into a running working directory succeeded")
	}
	if err := scheduler.Kill(ctx, f.store, "T"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduler to exit", func() bool { return !alive(launched.SchedulerPID) })
	f.allDead(t)
}

// sessionOf reads a process's session id from /proc.
func sessionOf(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, _ := strconv.Atoi(f[3])
	return n
}
