// Package local is Heron's local scheduler: every container of a topology
// runs as one heron-executor process on this machine, under a per-topology
// scheduler process that is detached from the submitting shell (its own
// session), restarts executors that exit, serves Heron's scheduler HTTP
// protocol (/kill, /restart, /update) and writes the SchedulerLocation.
//
// Layout, as Heron's: the working directory is
// heron.scheduler.local.working.directory
// (${HOME}/.herondata/topologies/${CLUSTER}/${ROLE}/${TOPOLOGY}); the
// package is unpacked there, heron-core is linked there, and every shard
// runs there. Without a Heron core directory (heron.package.core.directory),
// heron-core/bin/heron-executor links to this toolkit's heron-executor.
//
// The scheduler process is "heron-submit local-scheduler" (hidden command).
// It logs to heron-scheduler.log in the working directory, and each
// executor's output goes to heron-executor-<shard>.stderr.
//
// Ports: the scheduler and, for native topologies, the executors bind port
// 0 (any free port) and report the ports they got; the other ports come
// from lib/freeport, outside the kernel's ephemeral range. An operator's
// restart starts the executor again at once: only crashes back off.
package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/uploader"
)

func init() {
	scheduler.Register("local", func(*config.Config) (scheduler.Launcher, error) { return &Launcher{}, nil })
}

// Command is a program and its argv (Args[0] may differ from Path, so that
// a multi-call binary knows what to run).
type Command struct {
	Path string
	Args []string
}

// SchedulerCommand finds how to run "heron-submit local-scheduler": this
// binary when it is heron-submit, else heron-submit next to it, else on
// PATH. Tests replace it.
var SchedulerCommand = func() (Command, error) {
	exe, err := os.Executable()
	if err == nil && filepath.Base(os.Args[0]) == "heron-submit" {
		return Command{Path: exe, Args: []string{"heron-submit", "local-scheduler"}}, nil
	}
	if err == nil {
		if p := filepath.Join(filepath.Dir(exe), "heron-submit"); isExecutable(p) {
			return Command{Path: p, Args: []string{p, "local-scheduler"}}, nil
		}
	}
	p, err := exec.LookPath("heron-submit")
	if err != nil {
		return Command{}, exitcode.WithHint(exitcode.Errorf(exitcode.Config, "heron-submit not found to run the local scheduler"),
			"put the toolkit's bin folder on PATH (make build)")
	}
	return Command{Path: p, Args: []string{p, "local-scheduler"}}, nil
}

// FindExecutor finds this toolkit's heron-executor: next to this binary,
// else on PATH.
func FindExecutor() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "heron-executor"); isExecutable(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("heron-executor")
	if err != nil {
		return "", exitcode.WithHint(exitcode.Errorf(exitcode.Config, "heron-executor not found next to this binary or on PATH, and the cluster has no Heron core"),
			"build it (make build) and put bin/ on PATH, or set heron.package.core.directory to a Heron core")
	}
	return filepath.Abs(p)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// Launcher is the local launcher (Heron's LocalLauncher).
type Launcher struct {
	// SchedulerEnv is added to the scheduler process's environment.
	SchedulerEnv []string
	// ReadyTimeout bounds the wait for the scheduler to start (default 60 s).
	ReadyTimeout time.Duration
}

// WorkingDirectory is the topology's working directory from the client config.
func WorkingDirectory(cfg *config.Config) (string, error) {
	wd, err := cfg.String(config.KeyLocalWorkingDir, "")
	if err != nil {
		return "", exitcode.Wrap(exitcode.Config, err)
	}
	if wd == "" {
		return "", exitcode.Errorf(exitcode.Config, "%s is not set; set it in scheduler.yaml", config.KeyLocalWorkingDir)
	}
	abs, err := filepath.Abs(wd)
	if err != nil {
		return "", err
	}
	home, _ := os.UserHomeDir()
	if abs == "/" || abs == filepath.Clean(home) {
		return "", exitcode.Errorf(exitcode.Config, "%s is %s; it must be a folder of its own, since it is cleaned on submit", config.KeyLocalWorkingDir, abs)
	}
	return abs, nil
}

// Running reports the pid of a live scheduler in a working directory.
func Running(wd string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(wd, PIDFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, alive(pid)
}

func (l *Launcher) serveOptions(job *scheduler.Job, port int) ServeOptions {
	g := func(k string) string { v, _ := job.Config.String(k, ""); return v }
	return ServeOptions{Cluster: g(config.KeyCluster), Role: g(config.KeyRole), Environ: g(config.KeyEnviron),
		Topology: job.Topology.GetName(), TopologyBin: g(scheduler.KeyBinaryFile), HTTPPort: port}
}

// DryRun implements scheduler.Launcher: the working directory, the
// scheduler's command and each executor's command with port placeholders.
func (l *Launcher) DryRun(job *scheduler.Job) (*scheduler.Launched, error) {
	wd, err := WorkingDirectory(job.Config)
	if err != nil {
		return nil, err
	}
	out := &scheduler.Launched{Scheduler: "local", WorkingDirectory: wd}
	if c, err := SchedulerCommand(); err == nil {
		out.SchedulerCommand = append(append([]string{c.Path}, c.Args[1:]...), l.serveOptions(job, 0).Args()...)
	}
	cluster := job.Config.ForMode(config.ClusterMode)
	ports := scheduler.Ports{}
	for _, p := range scheduler.RequiredPorts {
		ports[p] = "<" + p + ">"
	}
	shards := append([]int{0}, job.Plan.ContainerIDs()...)
	for _, shard := range shards {
		argv, err := scheduler.ExecutorCommand(cluster, job.Topology, job.Plan, shard, ports)
		if err != nil {
			return nil, err
		}
		out.Executors = append(out.Executors, scheduler.Executor{Shard: shard, Command: argv})
	}
	return out, nil
}

// Launch implements scheduler.Launcher: prepare the working directory,
// start the detached scheduler process and wait until it runs every
// executor and has written the SchedulerLocation.
func (l *Launcher) Launch(ctx context.Context, job *scheduler.Job) (*scheduler.Launched, error) {
	wd, err := WorkingDirectory(job.Config)
	if err != nil {
		return nil, err
	}
	if pid, ok := Running(wd); ok {
		return nil, exitcode.Errorf(exitcode.Conflict, "a local scheduler (pid %d) still runs in %s; kill the topology first", pid, wd)
	}
	if err := os.RemoveAll(wd); err != nil {
		return nil, fmt.Errorf("clean the working directory %s: %w", wd, err)
	}
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return nil, err
	}
	if err := setupCore(ctx, job.Config, wd); err != nil {
		return nil, err
	}
	uri, _ := job.Config.String(scheduler.KeyPackageURI, "")
	if uri == "" {
		return nil, fmt.Errorf("local launcher: %s is not set", scheduler.KeyPackageURI)
	}
	if _, err := uploader.Fetch(ctx, uri, wd, pkgtar.Limits{}); err != nil {
		return nil, fmt.Errorf("fetch the topology package: %w", err)
	}
	sc, err := SchedulerCommand()
	if err != nil {
		return nil, err
	}
	// Port 0: the scheduler binds any free port and reports its endpoint
	// (ready line, SchedulerLocation), so no other process can take the
	// port between a choice here and its bind there.
	opts := l.serveOptions(job, 0)
	cmd := &exec.Cmd{Path: sc.Path, Args: append(append([]string{}, sc.Args...), opts.Args()...), Dir: wd}
	logf, err := os.OpenFile(filepath.Join(wd, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Env = append(append(os.Environ(), l.SchedulerEnv...), ReadyFDEnv+"=3")
	// A session of its own: no controlling terminal, so closing the
	// submitting shell sends it no SIGHUP.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("start the local scheduler: %w", err)
	}
	pw.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	timeout := l.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var msg string
	select {
	case msg = <-line:
	case <-time.After(timeout):
		msg = "error the scheduler did not start within " + timeout.String()
	case <-ctx.Done():
		msg = "error " + ctx.Err().Error()
	}
	if endpoint, ok := strings.CutPrefix(msg, "ok "); ok {
		job.Log.Debug().Int("pid", cmd.Process.Pid).Str("endpoint", endpoint).Msg("local scheduler running")
		return &scheduler.Launched{Scheduler: "local", WorkingDirectory: wd, SchedulerEndpoint: endpoint,
			SchedulerPID: cmd.Process.Pid, SchedulerCommand: cmd.Args}, nil
	}
	terminate(cmd.Process.Pid, exited)
	reason := strings.TrimPrefix(msg, "error ")
	if reason == "" {
		reason = "it exited: " + lastLine(filepath.Join(wd, LogFile))
	}
	return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Failure, "the local scheduler failed: %s", reason),
		"see "+filepath.Join(wd, LogFile))
}

// terminate stops a scheduler that never became ready; SIGTERM lets it stop
// the executors it started.
func terminate(pid int, exited <-chan struct{}) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(StopGrace + 5*time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// setupCore puts heron-core in the working directory: Heron's core package
// when heron.package.use_core_uri is set, else a link to
// heron.package.core.directory when it exists, else a heron-core/bin
// holding a link to this toolkit's heron-executor.
func setupCore(ctx context.Context, cfg *config.Config, wd string) error {
	useURI, err := cfg.Bool("heron.package.use_core_uri", true)
	if err != nil {
		return exitcode.Wrap(exitcode.Config, err)
	}
	if useURI {
		uri, _ := cfg.String("heron.package.core.uri", "")
		if !strings.Contains(uri, "://") {
			uri = "file://" + uri
		}
		if _, err := uploader.Fetch(ctx, uri, wd, pkgtar.Limits{MaxBytes: 4 << 30}); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) && exitcode.Code(err) != exitcode.NotFound {
			return fmt.Errorf("fetch the Heron core package: %w", err)
		}
	}
	core := filepath.Join(wd, "heron-core")
	if dir, _ := cfg.String("heron.package.core.directory", ""); dir != "" {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return os.Symlink(dir, core)
		}
	}
	exe, err := FindExecutor()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(core, "bin"), 0o755); err != nil {
		return err
	}
	return os.Symlink(exe, filepath.Join(core, "bin", "heron-executor"))
}
