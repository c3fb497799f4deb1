package remote_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/apiserver/apiservertest"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/submit"
	"github.com/heronkit/heronkit/lib/submit/remote"
	"github.com/heronkit/heronkit/lib/testserver"
)

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
	t.Cleanup(func() { testserver.KillProcsUnder(filepath.Join(home, ".herondata", "topologies")) })
	confPath, err := config.FindConfigPath("local")
	if err != nil {
		t.Fatal(err)
	}
	_, base := apiservertest.Start(t, apiserver.Options{ConfigDir: filepath.Join(confPath, "local"), Token: "tok"})
	ctx := context.Background()
	svc := remote.Service{URL: base, Token: "tok"}

	yaml := testserver.SmallWordCount(t)
	where := remote.Where{Cluster: "local", Role: "streamer", Environ: "prod"}

	dry, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: yaml, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if tr := dry.Topologies[0]; tr.Containers != 2 || tr.Instances != 4 || tr.Launch == nil {
		t.Errorf("dry run %+v", tr)
	}
	res, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: yaml,
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
	if _, err := remote.Submit(ctx, svc, remote.SubmitRequest{Where: where, File: yaml}); exitcode.Code(err) != exitcode.Conflict {
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
