package remote_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/submit"
	"github.com/heronkit/heronkit/lib/submit/remote"
	"github.com/heronkit/heronkit/lib/testserver"
)

const wordcount = `name: WordCount
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

// TestLifecycleThroughAPIServer runs every command through a real
// heron-apiserver (in-process, real lifecycle library) against the local
// cluster, whose containers are real heron-executor processes.
func TestLifecycleThroughAPIServer(t *testing.T) {
	for _, bin := range []string{"heron-submit", "heron-executor"} { // the local scheduler and containers
		if _, err := exec.LookPath(bin); err != nil {
			testserver.Missing(t, bin, "run make build and put bin/ on PATH (make test does)")
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Cleanup(func() { killProcsIn(filepath.Join(home, ".herondata", "topologies")) })
	confPath, err := config.FindConfigPath("local")
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiserver.New(apiserver.Options{Cluster: "local", ConfigDir: filepath.Join(confPath, "local"),
		Addr: "127.0.0.1:0", DownloadHostname: "127.0.0.1", Token: "tok", Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; s.Close() })
	svc := remote.Service{URL: "http://" + ln.Addr().String(), Token: "tok"}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "wordcount.yaml"), []byte(wordcount), 0o644)
	os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\nwhile :; do echo the cow; sleep 1; done\n"), 0o755)
	where := remote.Where{Cluster: "local", Role: "streamer", Environ: "prod"}

	dry, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: filepath.Join(dir, "wordcount.yaml"), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if tr := dry.Topologies[0]; tr.Containers != 2 || tr.Instances != 4 || tr.Launch == nil {
		t.Errorf("dry run %+v", tr)
	}
	res, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: filepath.Join(dir, "wordcount.yaml"),
		Properties: []string{"topology.debug=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Topologies[0].Name != "WordCount" || res.Role != "streamer" {
		t.Errorf("submit %+v", res)
	}
	wait := func(state string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			list, err := remote.List(ctx, svc, where)
			if err == nil && len(list) == 1 && list[0].State == state {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("WordCount not %s: %+v %v", state, list, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("RUNNING")
	if _, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: filepath.Join(dir, "wordcount.yaml")}); exitcode.Code(err) != exitcode.Conflict {
		t.Errorf("second submit: %v", err)
	}
	if r, err := remote.Deactivate(ctx, svc, where, "WordCount"); err != nil || r.State != "PAUSED" {
		t.Fatalf("deactivate: %+v %v", r, err)
	}
	wait("PAUSED")
	if _, err := remote.Activate(ctx, svc, where, "WordCount"); err != nil {
		t.Fatal(err)
	}
	wait("RUNNING")
	if _, err := remote.Restart(ctx, svc, where, "WordCount", 1); err != nil {
		t.Fatal(err)
	}
	u, err := remote.Update(ctx, svc, where, "WordCount", submit.UpdateRequest{Parallelism: map[string]int{"count": 3}, DryRun: true})
	if err != nil || u.Parallelism["count"] != 3 || u.Proposed == nil {
		t.Fatalf("update dry run: %+v %v", u, err)
	}
	if _, err := remote.Kill(ctx, svc, remote.Where{Cluster: "local", Role: "platform", Environ: "prod"}, "WordCount"); exitcode.Code(err) != exitcode.Conflict {
		t.Errorf("kill under another role: %v", err)
	}
	if r, err := remote.Kill(ctx, svc, where, "WordCount"); err != nil || r.State != "KILLED" {
		t.Fatalf("kill: %+v %v", r, err)
	}
	if _, err := remote.Kill(ctx, svc, where, "WordCount"); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("second kill: %v", err)
	}
	if list, err := remote.List(ctx, svc, where); err != nil || len(list) != 0 {
		t.Errorf("after kill: %+v %v", list, err)
	}
	if _, err := remote.Activate(ctx, remote.Service{URL: svc.URL, Token: "wrong"}, where, "WordCount"); exitcode.Code(err) != exitcode.Forbidden {
		t.Errorf("wrong token: %v", err)
	}
}

// killProcsIn kills what a failed test left running in dir.
func killProcsIn(dir string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
