package executor

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
)

// These tests run heron-executor (this test binary in the executor role,
// see TestMain) in Heron-core mode over a fake core: shell scripts named
// like Heron's binaries that record their working directory and argv,
// write a line on stdout and stderr, and sleep. They test our supervisor,
// not Heron's processes.

// fakeBinary records "<cwd>\n<$0>\n<arg>\n..." in $FAKE_CALLS/<pid>, exits
// with 3 when its name is $FAKE_EXIT, else sleeps.
const fakeBinary = `#!/bin/sh
rec="$FAKE_CALLS/$$"
{ pwd; printf '%s\n' "$0"; for a in "$@"; do printf '%s\n' "$a"; done; } > "$rec.tmp"
mv "$rec.tmp" "$rec"
echo "fake $(basename "$0") up"
echo "fake $(basename "$0") says hello on stderr" >&2
[ "$(basename "$0")" = "$FAKE_EXIT" ] && exit 3
exec sleep 600
`

// fakeJava answers Heron's JVM version probe, else behaves as fakeBinary.
const fakeJava = `#!/bin/sh
if [ "$3" = org.apache.heron.instance.util.JvmVersion ]; then echo 11.0.6; exit 0; fi
` + fakeBinary

// coreSandbox is one working directory shared by the containers of a
// topology, as Heron's local scheduler does.
type coreSandbox struct {
	t     *testing.T
	dir   string
	root  string
	calls string
	store statemgr.Store
	topo  *apipb.Topology
	env   []string
	ports map[int][]int
}

func newCoreSandbox(t *testing.T, internals string, env ...string) *coreSandbox {
	t.Helper()
	base := t.TempDir()
	if k := os.Getenv("HERON_TEST_KEEP"); k != "" {
		// Debugging: leave the sandbox behind.
		base = filepath.Join(k, t.Name())
		_ = os.RemoveAll(base)
	}
	s := &coreSandbox{t: t, dir: filepath.Join(base, "sandbox"), root: filepath.Join(base, "state"),
		calls: filepath.Join(base, "calls"), ports: map[int][]int{}}
	for _, d := range []string{"heron-core/bin", "jdk/bin", "heron-conf"} {
		mustDo(t, os.MkdirAll(filepath.Join(s.dir, d), 0o755))
	}
	mustDo(t, os.MkdirAll(s.calls, 0o755))
	for _, b := range []string{"heron-tmanager", "heron-stmgr", "heron-shell"} {
		// Heron's executor makes its binaries executable itself.
		mustDo(t, os.WriteFile(filepath.Join(s.dir, "heron-core/bin", b), []byte(fakeBinary), 0o644))
	}
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "jdk/bin/java"), []byte(fakeJava), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "heron-conf/heron_internals.yaml"),
		[]byte("heron.logging.directory: log-files\nheron.executor.process.restart.interval.ms: 100\n"+internals), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "heron-conf/metrics_sinks.yaml"), []byte("sinks: []\n"), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "heron-conf/statemgr.yaml"),
		[]byte("heron.class.state.manager: localfs\nheron.statemgr.root.path: "+s.root+"\n"), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "heron-conf/override.yaml"), []byte("{}\n"), 0o644))

	// The topology package of a Java topology: a tar holding its jars.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	mustDo(t, tw.WriteHeader(&tar.Header{Name: "libs/word-count.jar", Mode: 0o644, Size: 3}))
	_, _ = tw.Write([]byte("jar"))
	mustDo(t, tw.Close())
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "topology.tar"), tb.Bytes(), 0o644))

	// A Java topology: class names, no native commands.
	comp := func(name, class string) *apipb.Component {
		return &apipb.Component{Name: proto.String(name), ClassName: proto.String(class), Config: &apipb.Config{}}
	}
	s.topo = &apipb.Topology{Id: proto.String("ExclamationTopology-core-1"), Name: proto.String("ExclamationTopology"),
		State: apipb.TopologyState_RUNNING.Enum(), TopologyConfig: &apipb.Config{},
		Spouts: []*apipb.Spout{{Comp: comp("word", "org.apache.heron.examples.api.spout.TestWordSpout")}},
		Bolts: []*apipb.Bolt{{Comp: comp("exclaim1", "org.apache.heron.examples.api.ExclamationTopology$ExclamationBolt"),
			Inputs: []*apipb.InputStream{{Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String("word")},
				Gtype: apipb.Grouping_SHUFFLE.Enum()}}}},
	}
	defn, err := proto.Marshal(s.topo)
	mustDo(t, err)
	mustDo(t, os.WriteFile(filepath.Join(s.dir, "ExclamationTopology.defn"), defn, 0o644))

	s.store, err = statemgr.Open(context.Background(), "file://"+s.root, statemgr.DefaultOptions())
	mustDo(t, err)
	t.Cleanup(func() { s.store.Close() })
	mustDo(t, nodes.Client{Store: s.store}.Set(context.Background(), statemgr.Topologies, s.topo.GetName(), s.topo))
	s.env = append(append(os.Environ(), "FAKE_CALLS="+s.calls, "HERON_TEST_ROLE=executor", "HERON_LOG_FORMAT=json"), env...)
	return s
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (s *coreSandbox) setPlan(pp *systempb.PackingPlan) {
	s.t.Helper()
	mustDo(s.t, nodes.Client{Store: s.store}.Set(context.Background(), statemgr.PackingPlans, s.topo.GetName(), pp))
}

// argv is the executor command line of a shard, as a scheduler builds it.
func (s *coreSandbox) argv(shard int) []string {
	if s.ports[shard] == nil {
		for range 5 {
			s.ports[shard] = append(s.ports[shard], testserver.FreePort(s.t))
		}
	}
	p := s.ports[shard]
	return []string{
		"--shard=" + strconv.Itoa(shard), "--topology-name=ExclamationTopology", "--topology-id=" + s.topo.GetId(),
		"--topology-defn-file=ExclamationTopology.defn", "--state-manager-connection=LOCALMODE",
		"--state-manager-root=" + s.root, "--state-manager-config-file=./heron-conf/statemgr.yaml",
		"--tmanager-binary=./heron-core/bin/heron-tmanager", "--stmgr-binary=./heron-core/bin/heron-stmgr",
		"--metrics-manager-classpath=./heron-core/lib/metricsmgr/*",
		`--instance-jvm-opts="LVhYOitIZWFwRHVtcE9uT3V0T2ZNZW1vcnlFcnJvcg(61)(61)"`,
		"--classpath=libs/*:word-count.jar", "--heron-internals-config-file=./heron-conf/heron_internals.yaml",
		"--override-config-file=./heron-conf/override.yaml", "--component-ram-map=exclaim1:536870912,word:536870912",
		`--component-jvm-opts=""`, "--pkg-type=tar", "--topology-binary-file=topology.tar", "--heron-java-home=./jdk",
		"--heron-shell-binary=./heron-core/bin/heron-shell", "--cluster=local", "--role=tester", "--environment=default",
		"--instance-classpath=./heron-core/lib/instance/*", "--metrics-sinks-config-file=./heron-conf/metrics_sinks.yaml",
		"--scheduler-classpath=./heron-core/lib/scheduler/*", "--python-instance-binary=./heron-core/bin/heron-python-instance",
		"--cpp-instance-binary=./heron-core/bin/heron-cpp-instance",
		"--metricscache-manager-classpath=./heron-core/lib/metricscachemgr/*", "--metricscache-manager-mode=disabled",
		"--is-stateful=false", "--checkpoint-manager-classpath=./heron-core/lib/ckptmgr/*:",
		"--stateful-config-file=./heron-conf/stateful.yaml", "--checkpoint-manager-ram=1073741824",
		"--health-manager-mode=disabled", "--health-manager-classpath=./heron-core/lib/healthmgr/*",
		"--server-port=" + strconv.Itoa(p[0]), "--tmanager-controller-port=" + strconv.Itoa(p[1]),
		"--tmanager-stats-port=" + strconv.Itoa(p[2]), "--shell-port=" + strconv.Itoa(p[3]),
		"--metrics-manager-port=" + strconv.Itoa(p[4]), "--scheduler-port=0", "--metricscache-manager-server-port=0",
		"--metricscache-manager-stats-port=0", "--checkpoint-manager-port=0",
	}
}

// start runs the executor of a shard in the sandbox.
func (s *coreSandbox) start(shard int) *testserver.Process {
	self, err := os.Executable()
	mustDo(s.t, err)
	cmd := exec.Command(self, s.argv(shard)...)
	cmd.Dir, cmd.Env = s.dir, s.env
	return testserver.StartProcess(s.t, fmt.Sprintf("executor-%d", shard), cmd)
}

// want is the process list Heron's executor builds for a shard and plan.
func (s *coreSandbox) want(shard int, pp *systempb.PackingPlan) []CoreCommand {
	s.t.Helper()
	a, err := ParseArgs(s.argv(shard))
	mustDo(s.t, err)
	cfg, err := CoreConfigOf(a, s.dir, "log-files", heronHost())
	mustDo(s.t, err)
	cfg.JVMVersion = func() (string, error) { return "11.0.6", nil }
	cs, err := CoreCommands(cfg, pp)
	mustDo(s.t, err)
	return cs
}

// call is what a fake binary recorded about itself.
type call struct {
	pid  int
	cwd  string
	path string
	args []string
}

// running waits for the pid file of a process whose run recorded itself,
// with a pid other than not (0: any).
func (s *coreSandbox) running(name string, not int) call {
	s.t.Helper()
	var c call
	err := testserver.Poll(context.Background(), 20*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(s.dir, name+".pid"))
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil {
			return err
		}
		if pid == not {
			return fmt.Errorf("%s still has pid %d", name, pid)
		}
		rec, err := os.ReadFile(filepath.Join(s.calls, strconv.Itoa(pid)))
		if err != nil {
			return fmt.Errorf("%s (pid %d) has not started yet", name, pid)
		}
		lines := strings.Split(strings.TrimSuffix(string(rec), "\n"), "\n")
		c = call{pid: pid, cwd: lines[0], path: lines[1], args: lines[2:]}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// check waits for every wanted process and compares its cwd and argv.
func (s *coreSandbox) check(want []CoreCommand) map[string]call {
	s.t.Helper()
	dir, err := filepath.EvalSymlinks(s.dir)
	mustDo(s.t, err)
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(s.dir, p)
	}
	got := map[string]call{}
	for _, w := range want {
		c := s.running(w.Name, 0)
		got[w.Name] = c
		if cwd, _ := filepath.EvalSymlinks(c.cwd); cwd != dir {
			s.t.Errorf("%s runs in %s, want %s", w.Name, c.cwd, s.dir)
		}
		if abs(c.path) != abs(w.Argv[0]) {
			s.t.Errorf("%s runs %s, want %s", w.Name, c.path, w.Argv[0])
		}
		if !slices.Equal(c.args, w.Argv[1:]) {
			s.t.Errorf("%s argv:\n got  %q\n want %q", w.Name, c.args, w.Argv[1:])
		}
	}
	return got
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// terminate sends SIGTERM to an executor (its pid only) and waits for it.
func terminate(t *testing.T, p *testserver.Process) {
	t.Helper()
	mustDo(t, syscall.Kill(p.PID(), syscall.SIGTERM))
	select {
	case <-p.Exited():
	case <-time.After(30 * time.Second):
		t.Fatalf("executor pid %d did not stop on SIGTERM", p.PID())
	}
	if err := p.Err(); err != nil {
		t.Errorf("executor pid %d: %v after SIGTERM:\n%s", p.PID(), err, p.Tail(10))
	}
}

// Two containers of a Java topology in one working directory: every
// process starts with Heron's argv in the sandbox; a process that dies is
// restarted with the same argv; a packing-plan change restarts only what
// Heron's executor restarts; SIGTERM stops everything.
func TestHeronCoreSupervisesProcesses(t *testing.T) {
	s := newCoreSandbox(t, "")
	plan := vectorPlan(1, []vInstance{{"word", 3, 0}, {"exclaim1", 2, 0}, {"exclaim1", 1, 0}})
	plan.Id = proto.String("plan-1")
	s.setPlan(plan)
	e0, e1 := s.start(0), s.start(1)

	want0, want1 := s.want(0, plan), s.want(1, plan)
	if len(want0) != 3 || len(want1) != 6 {
		t.Fatalf("want 3 + 6 processes, got %v and %v", asNamed(want0), asNamed(want1))
	}
	got := s.check(append(slices.Clone(want0), want1...))
	if _, err := os.Stat(filepath.Join(s.dir, "libs/word-count.jar")); err != nil {
		t.Errorf("the tar topology was not unpacked: %v", err)
	}
	for _, f := range []string{"heron-executor-0.pid", "heron-executor-1.pid"} {
		if _, err := os.Stat(filepath.Join(s.dir, f)); err != nil {
			t.Error(err)
		}
	}
	// The binaries were made executable, as Heron's executor does.
	if st, _ := os.Stat(filepath.Join(s.dir, "heron-core/bin/heron-stmgr")); st.Mode().Perm()&0o001 == 0 {
		t.Errorf("heron-stmgr mode %v", st.Mode())
	}

	// Children's output ends up in the executor's log, Heron's way.
	err := testserver.Poll(context.Background(), 10*time.Second, func() error {
		b, _ := os.ReadFile(filepath.Join(s.dir, "heron-executor-1.stdout"))
		for _, w := range []string{"heron-shell-1 stdout: fake heron-shell up", "stmgr-1 stdout: fake heron-stmgr says hello on stderr"} {
			if !bytes.Contains(b, []byte(w)) {
				return fmt.Errorf("no %q in heron-executor-1.stdout", w)
			}
		}
		return nil
	})
	mustDo(t, err)

	// A process that dies comes back with the same argv; the others stay.
	victim := got["container_1_exclaim1_2"]
	mustDo(t, syscall.Kill(victim.pid, syscall.SIGKILL))
	again := s.running("container_1_exclaim1_2", victim.pid)
	if !slices.Equal(again.args, victim.args) {
		t.Errorf("restarted with argv %q, was %q", again.args, victim.args)
	}
	for name, c := range got {
		if name != "container_1_exclaim1_2" && !alive(c.pid) {
			t.Errorf("%s (pid %d) died with the victim", name, c.pid)
		}
	}
	got["container_1_exclaim1_2"] = again

	// A new distribution: Heron kills the removed instance and the stream
	// manager, starts the new instance and a new stream manager, and keeps
	// the rest (container 0 included: the TManager follows plans itself).
	plan2 := vectorPlan(1, []vInstance{{"word", 3, 0}, {"word", 2, 0}, {"exclaim1", 1, 0}})
	plan2.Id = proto.String("plan-2")
	s.setPlan(plan2)
	stmgr := s.running("stmgr-1", got["stmgr-1"].pid)
	s.check(s.want(1, plan2))
	if want := "--instance_ids=container_1_word_3,container_1_word_2,container_1_exclaim1_1"; !slices.Contains(stmgr.args, want) {
		t.Errorf("new stream manager argv %q lacks %s", stmgr.args, want)
	}
	err = testserver.Poll(context.Background(), 10*time.Second, func() error {
		for _, name := range []string{"stmgr-1", "container_1_exclaim1_2"} {
			if alive(got[name].pid) {
				return fmt.Errorf("%s (pid %d) still runs", name, got[name].pid)
			}
		}
		return nil
	})
	mustDo(t, err)
	for _, name := range []string{"container_1_word_3", "container_1_exclaim1_1", "metricsmgr-1", "heron-shell-1",
		"heron-tmanager", "metricsmgr-0", "heron-shell-0"} {
		c := s.running(name, 0)
		if c.pid != got[name].pid || !alive(c.pid) {
			t.Errorf("%s was restarted by a plan change (pid %d, now %d)", name, got[name].pid, c.pid)
		}
	}

	// SIGTERM: the executors stop every process they started.
	var pids []int
	for _, name := range []string{"heron-tmanager", "metricsmgr-0", "heron-shell-0", "stmgr-1", "metricsmgr-1",
		"container_1_word_3", "container_1_word_2", "container_1_exclaim1_1", "heron-shell-1"} {
		pids = append(pids, s.running(name, 0).pid)
	}
	terminate(t, e0)
	terminate(t, e1)
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d outlived its executor", pid)
		}
	}
}

// A process that keeps dying exhausts the restart budget and the container
// stops with an error, taking its other processes with it (Heron exits 1).
func TestHeronCoreRestartBudget(t *testing.T) {
	s := newCoreSandbox(t, KeyRestartBudget+": 3\n", "FAKE_EXIT=heron-tmanager")
	s.setPlan(vectorPlan(1, []vInstance{{"word", 1, 0}}))
	e0 := s.start(0)
	shell := s.running("heron-shell-0", 0)
	select {
	case <-e0.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the executor did not give up on heron-tmanager")
	}
	if e0.Err() == nil {
		t.Error("the executor exited with status 0 after giving up")
	}
	if alive(shell.pid) {
		t.Errorf("heron-shell-0 (pid %d) outlived its executor", shell.pid)
	}
	if log := e0.Tail(20); !strings.Contains(log, "heron-tmanager exited too many times (3 runs") {
		t.Errorf("no reason in the executor's output:\n%s", log)
	}
	runs := 0
	entries, _ := os.ReadDir(s.calls)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(s.calls, e.Name()))
		if strings.Contains(string(b), "heron-tmanager\n") {
			runs++
		}
	}
	if runs != 3 {
		t.Errorf("heron-tmanager ran %d times, want 3", runs)
	}
}

// Without a Heron core a non-native topology is refused with a clear line.
func TestHeronCoreMissing(t *testing.T) {
	s := newCoreSandbox(t, "")
	mustDo(t, os.RemoveAll(filepath.Join(s.dir, "heron-core")))
	self, err := os.Executable()
	mustDo(t, err)
	cmd := exec.Command(self, s.argv(1)...)
	cmd.Dir, cmd.Env = s.dir, s.env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 81 {
		t.Fatalf("exit %v, want status 81:\n%s", err, out)
	}
	if !strings.Contains(string(out), "is not native") || !strings.Contains(string(out), "no Heron core") {
		t.Errorf("unclear error:\n%s", out)
	}
}

// Port 0 (any free port) is for the native runtime, which reports the ports
// it binds; Heron's processes are refused it with a clear line.
func TestHeronCoreRefusesPortZero(t *testing.T) {
	s := newCoreSandbox(t, "")
	s.ports[1] = []int{0, 0, 0, 0, 0}
	self, err := os.Executable()
	mustDo(t, err)
	cmd := exec.Command(self, s.argv(1)...)
	cmd.Dir, cmd.Env = s.dir, s.env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 80 {
		t.Fatalf("exit %v, want status 80:\n%s", err, out)
	}
	if !strings.Contains(string(out), "--server-port=0") || !strings.Contains(string(out), "native topologies only") {
		t.Errorf("unclear error:\n%s", out)
	}
}
