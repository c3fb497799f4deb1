package instance

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		p.Stop(time.Second)
		t.Fatal("the process did not exit")
	}
}

// The executor's start line opens an instance's log before anything the
// process writes (a fresh log is not empty), and its exit line closes it
// after the process's last output.
func TestLogLifecycleLines(t *testing.T) {
	log, err := OpenLog(filepath.Join(t.TempDir(), "log-files", "container_1_split_1.log"), 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := "echo first >&2; echo last >&2; exit 3"
	p, err := Start(Spec{Command: cmd, Dir: t.TempDir(), Stderr: log, LogLifecycle: true})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)
	lines := readLines(t, log.Path())
	pid := strconv.Itoa(p.Pid())
	started := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) heron-executor: started pid ` + pid + `: ` + regexp.QuoteMeta(cmd) + `$`)
	if len(lines) != 4 || !started.MatchString(lines[0]) || lines[1] != "first" || lines[2] != "last" ||
		!strings.HasSuffix(lines[3], " heron-executor: pid "+pid+" exited with status 3") {
		t.Fatalf("log:\n%s", strings.Join(lines, "\n"))
	}

	// A process that writes nothing still has a log, and a run killed by
	// a signal says so; a command with a newline stays on one line.
	p, err = Start(Spec{Command: "tr -s ' ' '\n'", Dir: t.TempDir(), Stderr: log, LogLifecycle: true})
	if err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, log.Path()); len(lines) != 5 || !strings.HasSuffix(lines[4], `: "tr -s ' ' '\n'"`) {
		t.Fatalf("no start line for a silent process:\n%s", strings.Join(lines, "\n"))
	}
	_ = p.Signal(syscall.SIGKILL)
	waitDone(t, p)
	if lines := readLines(t, log.Path()); len(lines) != 6 || !strings.HasSuffix(lines[5], "pid "+strconv.Itoa(p.Pid())+" killed by signal killed") {
		t.Fatalf("no exit line for a killed process:\n%s", strings.Join(lines, "\n"))
	}
}

// The lines go through the log's rotation like the process's output.
func TestLogLifecycleLinesRotate(t *testing.T) {
	base := filepath.Join(t.TempDir(), "i.log")
	log, err := OpenLog(base, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for range 6 {
		p, err := Start(Spec{Command: "echo output >&2", Dir: t.TempDir(), Stderr: log, LogLifecycle: true})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
	}
	for i := range 3 {
		st, err := os.Stat(base + "." + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 200 {
			t.Errorf("%s.%d holds %d bytes, more than the 200 allowed", base, i, st.Size())
		}
	}
	if _, err := os.Stat(base + ".3"); err == nil {
		t.Errorf("more than 3 files kept")
	}
}

// A process whose child moved to another process group and keeps stderr
// open is still seen to exit: its exit line and Done do not wait for the
// child, and a status 0 is still no error.
func TestExitNoticedWhileGrandchildHoldsStderr(t *testing.T) {
	for _, status := range []int{3, 0} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			log, err := OpenLog(filepath.Join(t.TempDir(), "i.log"), 1<<20, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			// The grandchild prints its pid (setsid may fork) and sleeps
			// in its own session, out of reach of the process group.
			cmd := `setsid sh -c 'echo $$; exec sleep 300' & exit ` + strconv.Itoa(status)
			p, err := Start(Spec{Command: cmd, Dir: t.TempDir(), Stderr: log, LogLifecycle: true})
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(p.Stdout).ReadString('\n')
			gc, _ := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || gc <= 0 {
				p.Stop(time.Second)
				t.Fatalf("no grandchild pid: %q, %v", line, err)
			}
			defer func() { _ = syscall.Kill(gc, syscall.SIGKILL) }()
			waitDone(t, p)
			lines := readLines(t, log.Path())
			want := " exited with status " + strconv.Itoa(status)
			if p.ExitCode() != status || (p.Err() == nil) != (status == 0) || !strings.HasSuffix(lines[len(lines)-1], want) {
				t.Fatalf("exit code %d, err %v, log:\n%s", p.ExitCode(), p.Err(), strings.Join(lines, "\n"))
			}
		})
	}
}
