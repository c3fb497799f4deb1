package serviceclient_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/apiserver/apiservertest"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/serviceclient"
	"github.com/heronkit/heronkit/lib/testserver"
)

// lifecycle answers like the library for one known topology "T", and
// keeps what a submit packed.
type lifecycle struct {
	packed []string
	fields map[string]string
}

var errUnknown = exitcode.Errorf(exitcode.NotFound, "Topology 'X' does not exist")

func (l *lifecycle) Submit(_ context.Context, j *apiserver.SubmitJob) (any, error) {
	entries, err := pkgtar.ExtractFile(j.PackageFile, filepath.Join(j.WorkDir, "check"), pkgtar.Limits{})
	if err != nil {
		return nil, err
	}
	l.packed, l.fields = pkgtar.Names(entries), j.Overrides
	if j.DryRun {
		return map[string]string{"plan": "ok"}, nil
	}
	return nil, nil
}
func (l *lifecycle) op(t apiserver.Target) error {
	if t.Name != "T" {
		return errUnknown
	}
	return nil
}
func (l *lifecycle) Kill(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return l.op(t)
}
func (l *lifecycle) Activate(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return l.op(t)
}
func (l *lifecycle) Deactivate(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return l.op(t)
}
func (l *lifecycle) Restart(_ context.Context, _ *config.Config, t apiserver.Target, _ int) error {
	return l.op(t)
}
func (l *lifecycle) Update(_ context.Context, u *apiserver.UpdateJob) (any, error) {
	if u.DryRun {
		return map[string]string{"plan": "update"}, l.op(u.Target)
	}
	return nil, l.op(u.Target)
}
func (l *lifecycle) List(context.Context, *config.Config) ([]apiserver.TopologyInfo, error) {
	return []apiserver.TopologyInfo{{Name: "T", Role: "r", Environment: "e", State: "RUNNING"}}, nil
}

func start(t *testing.T, token string) (*lifecycle, string) {
	t.Helper()
	l := &lifecycle{}
	_, base := apiservertest.Start(t, apiserver.Options{Token: token, Lifecycle: l})
	return l, base
}

func topology(t *testing.T) (defnPath, dir string) {
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.yaml"), []byte("name: T\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "spout.sh"), []byte("yes\n"), 0o755)
	b, _ := proto.Marshal(&apipb.Topology{Id: proto.String("T-1"), Name: proto.String("T"), State: apipb.TopologyState_RUNNING.Enum(),
		Spouts: []*apipb.Spout{{Comp: &apipb.Component{Name: proto.String("s"), Config: &apipb.Config{
			Kvs: []*apipb.Config_KeyValue{{Key: proto.String("topology.component.parallelism"), Value: proto.String("1")}}}}}}})
	defnPath = filepath.Join(t.TempDir(), "T.defn")
	os.WriteFile(defnPath, b, 0o644)
	return defnPath, dir
}

func TestLifecycleThroughTheServer(t *testing.T) {
	l, base := start(t, "tok")
	c, err := serviceclient.New(base+"/", serviceclient.Options{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defn, dir := topology(t)
	res, err := c.Submit(ctx, serviceclient.SubmitRequest{Name: "T", Cluster: "local", Role: "r", Environment: "e",
		User: "u", Definition: defn, TopologyDir: dir, Properties: []string{"topology.debug=true", "x=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "T" || res.Environment != "e" || res.Location != "/api/v1/topologies/local/r/e/T" {
		t.Errorf("submit result %+v", res)
	}
	if got := strings.Join(l.packed, " "); !strings.Contains(got, "bin/spout.sh") || !strings.Contains(got, "T.defn") || !strings.Contains(got, "t.yaml") {
		t.Errorf("packed %s", got)
	}
	if l.fields["topology.debug"] != "True" || l.fields["x"] != "1" {
		t.Errorf("overrides %v", l.fields)
	}
	res, err = c.Submit(ctx, serviceclient.SubmitRequest{Name: "T", Cluster: "local", Role: "r", Definition: defn,
		TopologyFile: filepath.Join(dir, "t.yaml"), DryRun: true})
	if err != nil || string(res.Response) != `{"plan":"ok"}` {
		t.Fatalf("dry run: %+v %v", res, err)
	}

	target := serviceclient.Target{Cluster: "local", Role: "r", Environ: "e", Name: "T"}
	for name, f := range map[string]func(context.Context, serviceclient.Target) (string, error){
		"activated": c.Activate, "deactivated": c.Deactivate, "killed": c.Kill,
	} {
		if msg, err := f(ctx, target); err != nil || msg != "T "+name {
			t.Errorf("%s: %q %v", name, msg, err)
		}
	}
	if msg, err := c.Restart(ctx, target, 1); err != nil || msg != "T restarted" {
		t.Errorf("restart: %q %v", msg, err)
	}
	if u, err := c.Update(ctx, target, serviceclient.UpdateRequest{ComponentParallelism: []string{"a:2"}, DryRun: true}); err != nil || string(u.Response) != `{"plan":"update"}` {
		t.Errorf("update: %+v %v", u, err)
	}
	list, err := c.List(ctx, serviceclient.ListFilter{State: "running"})
	if err != nil || len(list) != 1 || list[0].Name != "T" {
		t.Errorf("list: %+v %v", list, err)
	}
	if _, err := c.Get(ctx, target); err != nil {
		t.Errorf("get: %v", err)
	}
	if v, err := c.Version(ctx); err != nil || v["heron.build.version"] == "" {
		t.Errorf("version: %v %v", v, err)
	}

	// Errors carry the toolkit's exit codes and the server's message.
	_, err = c.Kill(ctx, serviceclient.Target{Cluster: "local", Role: "r", Environ: "e", Name: "X"})
	if exitcode.Code(err) != exitcode.NotFound || !strings.Contains(err.Error(), "Topology 'X' does not exist (HTTP 404)") {
		t.Errorf("kill unknown: %v (code %d)", err, exitcode.Code(err))
	}
	_, err = c.Submit(ctx, serviceclient.SubmitRequest{Name: "T", Cluster: "other", Role: "r", Definition: defn, TopologyDir: dir})
	if exitcode.Code(err) != exitcode.DataErr || !strings.Contains(err.Error(), "Unknown cluster other expecting 'local'") {
		t.Errorf("other cluster: %v", err)
	}
	bad, _ := serviceclient.New(base, serviceclient.Options{Token: "nope"})
	if _, err := bad.Activate(ctx, target); exitcode.Code(err) != exitcode.Forbidden {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := bad.Submit(ctx, serviceclient.SubmitRequest{Name: "T", Cluster: "local", Role: "r", Definition: defn, TopologyDir: dir}); exitcode.Code(err) != exitcode.Forbidden {
		t.Errorf("wrong token on submit: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	c, err := serviceclient.New("http://127.0.0.1:"+strconv.Itoa(testserver.FreePort(t)), serviceclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	if exitcode.Code(err) != exitcode.Unavailable || exitcode.Hint(err) == "" {
		t.Errorf("unreachable: %v (code %d)", err, exitcode.Code(err))
	}
	if _, err := serviceclient.New("ftp://x", serviceclient.Options{}); exitcode.Code(err) != exitcode.Usage {
		t.Errorf("bad URL: %v", err)
	}
}
