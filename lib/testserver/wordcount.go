package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SmallWordCountYAML is a two-component native word count (a shell spout,
// an awk counter, two containers) for tests that need a topology of their
// own rather than the example's.
const SmallWordCountYAML = `name: WordCount
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

// SmallWordCount writes SmallWordCountYAML as wordcount.yaml, with its
// spout's sentences.sh, into a fresh temp folder and returns the YAML's path.
func SmallWordCount(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "wordcount.yaml")
	if err := os.WriteFile(p, []byte(SmallWordCountYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\nwhile :; do echo the cow; sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// WordCountOptions says how SubmitWordCount runs the example.
type WordCountOptions struct {
	// HeronSubmit is the heron-submit binary; its folder goes first on
	// PATH, so heron-executor is taken from beside it.
	HeronSubmit string
	// SpoutWrap, when set, replaces the spout's command; %s in it stands
	// for the example's own (./sentences.sh).
	SpoutWrap string
	// Properties are the submit's --config-property KEY=VALUE items.
	Properties []string
}

// WordCount is the example word count running on the local cluster.
type WordCount struct {
	// Home is the HOME it runs under; the state is below
	// Home/.herondata/repository/state/local.
	Home string
	// WorkDir is the topology's working directory (heron-submit's
	// launch.working_directory).
	WorkDir string

	bin    string
	env    []string
	dir    string
	killed bool
}

// SubmitWordCount copies the word-count example (examples/wordcount of this
// repository) into a fresh HOME and submits it to the local cluster with
// the real heron-submit; heron-executor runs its containers. At cleanup,
// even after a failure, the topology is killed (unless Kill did it), and
// every process left under HOME is a test error and is SIGKILLed by PID.
func SubmitWordCount(t testing.TB, opts WordCountOptions) *WordCount {
	t.Helper()
	example := filepath.Join(RepoRoot(t), "examples", "wordcount")
	RequireFile(t, filepath.Join(example, "wordcount.yaml"), "the word-count example ships with the repository")
	home, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &WordCount{Home: home, bin: opts.HeronSubmit, dir: filepath.Join(home, "wordcount"),
		env: append(os.Environ(), "HOME="+home, "PATH="+filepath.Dir(opts.HeronSubmit)+string(os.PathListSeparator)+os.Getenv("PATH"))}
	if err := os.CopyFS(w.dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	if opts.SpoutWrap != "" {
		yml := filepath.Join(w.dir, "wordcount.yaml")
		b, err := os.ReadFile(yml)
		if err != nil {
			t.Fatal(err)
		}
		const spout = "command: ./sentences.sh\n"
		if !strings.Contains(string(b), spout) {
			t.Fatalf("examples/wordcount/wordcount.yaml no longer has %q", spout)
		}
		cmd, _ := json.Marshal(fmt.Sprintf(opts.SpoutWrap, "./sentences.sh"))
		if err := os.WriteFile(yml, []byte(strings.Replace(string(b), spout, "command: "+string(cmd)+"\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Registered before the submit: whatever happens, the topology is
	// killed and nothing it started is left running.
	t.Cleanup(func() {
		if !w.killed {
			// Exit code 84: not found, the submit never got that far.
			if out, err := w.HeronSubmit("kill", "local", "WordCount"); err != nil && !strings.Contains(err.Error(), "exit status 84") {
				t.Errorf("%v", err)
			} else if err == nil {
				t.Logf("killed: %s", strings.TrimSpace(string(out)))
			}
		}
		NoProcsUnder(t, home)
	})
	args := []string{"submit", "local", "wordcount.yaml"}
	for _, p := range opts.Properties {
		args = append(args, "--config-property", p)
	}
	out, err := w.HeronSubmit(args...)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Topologies []struct {
			Launch struct {
				WorkingDirectory string `json:"working_directory"`
			} `json:"launch"`
		} `json:"topologies"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Topologies) != 1 || res.Topologies[0].Launch.WorkingDirectory == "" {
		t.Fatalf("heron-submit submit printed %s (%v)", out, err)
	}
	w.WorkDir = res.Topologies[0].Launch.WorkingDirectory
	return w
}

// HeronSubmit runs heron-submit with args (a minute at most) in the
// example's copy under HOME, and returns its stdout; a failure's error
// holds its stderr.
func (w *WordCount) HeronSubmit(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, w.bin, args...)
	c.Env, c.Dir = w.env, w.dir
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		err = fmt.Errorf("heron-submit %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, err
}

// Kill kills the topology with heron-submit; cleanup then only checks that
// nothing is left running.
func (w *WordCount) Kill() error {
	if _, err := w.HeronSubmit("kill", "local", "WordCount"); err != nil {
		return err
	}
	w.killed = true
	return nil
}

// StateRoot is the local cluster's state folder under HOME.
func (w *WordCount) StateRoot() string {
	return filepath.Join(w.Home, ".herondata", "repository", "state", "local")
}

// RepoRoot is the root of the module the test runs in: the nearest folder
// holding go.mod above the test's working directory (its package folder).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}
