package apiserver_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/apiserver/apiservertest"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// recorder is a Lifecycle that records what the HTTP layer hands the
// library, to pin Heron's request parsing and answers. The real library is
// exercised by the testscripts.
type recorder struct {
	mu      sync.Mutex
	calls   []string
	job     *apiserver.SubmitJob
	pkg     []pkgtar.Entry
	pkgDir  string
	update  *apiserver.UpdateJob
	restart int
	err     error
	list    []apiserver.TopologyInfo
}

func (r *recorder) record(call string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	return r.err
}

func (r *recorder) Submit(ctx context.Context, job *apiserver.SubmitJob) (any, error) {
	r.job = job
	// Unpack the package now: the server removes it after the call.
	r.pkgDir, _ = os.MkdirTemp("", "recorded-pkg-")
	r.pkg, _ = pkgtar.ExtractFile(job.PackageFile, r.pkgDir, pkgtar.Limits{})
	if job.DryRun {
		return map[string]any{"would": "launch"}, r.record("submit")
	}
	return nil, r.record("submit")
}
func (r *recorder) Kill(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return r.record("kill " + t.Name)
}
func (r *recorder) Activate(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return r.record("activate " + t.Name)
}
func (r *recorder) Deactivate(_ context.Context, _ *config.Config, t apiserver.Target) error {
	return r.record("deactivate " + t.Name)
}
func (r *recorder) Restart(_ context.Context, _ *config.Config, t apiserver.Target, c int) error {
	r.restart = c
	return r.record("restart " + t.Name)
}
func (r *recorder) Update(_ context.Context, u *apiserver.UpdateJob) (any, error) {
	r.update = u
	return "plan", r.record("update " + u.Name)
}
func (r *recorder) List(context.Context, *config.Config) ([]apiserver.TopologyInfo, error) {
	return r.list, r.record("list")
}

func defn(t testing.TB, name string) []byte {
	b, err := proto.Marshal(&apipb.Topology{Id: proto.String(name + "-1"), Name: proto.String(name),
		State: apipb.TopologyState_RUNNING.Enum(),
		Spouts: []*apipb.Spout{{Comp: &apipb.Component{Name: proto.String("s"), Config: &apipb.Config{
			Kvs: []*apipb.Config_KeyValue{{Key: proto.String("topology.component.parallelism"), Value: proto.String("2")}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type part struct {
	field, filename string
	data            []byte
}

func form(t testing.TB, parts ...part) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.filename == "" {
			mw.WriteField(p.field, string(p.data))
			continue
		}
		w, _ := mw.CreateFormFile(p.field, p.filename)
		w.Write(p.data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func topologyArchive(t testing.TB, files map[string]string) []byte {
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	var buf bytes.Buffer
	if _, err := pkgtar.Build(&buf, pkgtar.Contents{TopologyDir: dir}, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func submitParts(t testing.TB, name string, extra ...part) []part {
	return append([]part{
		{field: "name", data: []byte(name)},
		{field: "cluster", data: []byte("local")},
		{field: "role", data: []byte("ads")},
		{field: "environment", data: []byte("prod")},
		{field: "definition", filename: name + ".defn", data: defn(t, name)},
		{field: "topology", filename: "wordcount.tar.gz", data: topologyArchive(t, map[string]string{
			"wordcount.yaml": "name: " + name + "\n", "bin/split.sh": "tr ' ' '\\n'\n"})},
	}, extra...)
}

// emptyTemp points the server's work directories at a folder the test can
// check is left empty.
func emptyTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "heron-apiserver-submit-") {
			t.Errorf("work directory %s left behind", e.Name())
		}
	}
}

func TestSubmitPreparesHeronPackage(t *testing.T) {
	tmp := emptyTemp(t)
	rec := &recorder{}
	conf := t.TempDir()
	writeFile(t, filepath.Join(conf, "statemgr.yaml"), "# the state manager\nheron.statemgr.connection.string: LOCALMODE\nheron.statemgr.root.path: /old\n")
	writeFile(t, filepath.Join(conf, "client.yaml"), "heron.package.use_core_uri: false\n")
	writeFile(t, filepath.Join(conf, "packing.yaml"), "heron.class.packing.algorithm: org.apache.heron.packing.roundrobin.RoundRobinPacking\n")
	_, base := apiservertest.Start(t, apiserver.Options{Lifecycle: rec, ConfigDir: conf,
		Properties: []string{"heron.statemgr.root.path=/from-D", "a.b=1"}})
	body, ct := form(t, submitParts(t, "WordCount", part{field: "topology.debug", data: []byte("True")})...)
	code, resp := post(t, base+"/api/v1/topologies", body, ct)
	if code != 201 {
		t.Fatalf("submit: %d %s", code, resp)
	}
	if resp != `{"name":"WordCount","cluster":"local","role":"ads","environment":"prod"}` {
		t.Errorf("created body %s", resp)
	}
	job := rec.job
	if job.User != "ads" || job.Environ != "prod" || job.Overrides["topology.debug"] != "True" {
		t.Errorf("job %+v", job)
	}
	if v, _ := job.Config.String("topology.debug", ""); v != "True" {
		t.Errorf("override not in config: %q", v)
	}
	if v, _ := job.Config.String(config.KeyRole, ""); v != "ads" {
		t.Errorf("role in config: %q", v)
	}
	names := strings.Join(pkgtar.Names(rec.pkg), " ")
	for _, want := range []string{"WordCount.defn", "wordcount.yaml", "bin/split.sh", "heron-conf/override.yaml", "heron-conf/statemgr.yaml", "heron-conf/client.yaml"} {
		if !strings.Contains(" "+names+" ", " "+want+" ") {
			t.Errorf("package lacks %s: %s", want, names)
		}
	}
	over, _ := os.ReadFile(filepath.Join(rec.pkgDir, "heron-conf", "override.yaml"))
	for _, want := range []string{"heron.statemgr.root.path: /from-D", "topology.debug: \"True\"", "a.b: \"1\""} {
		if !strings.Contains(string(over), want) {
			t.Errorf("override.yaml lacks %q:\n%s", want, over)
		}
	}
	sm, _ := os.ReadFile(filepath.Join(rec.pkgDir, "heron-conf", "statemgr.yaml"))
	if !strings.Contains(string(sm), "heron.statemgr.root.path: /from-D") || !strings.Contains(string(sm), "# the state manager") {
		t.Errorf("statemgr.yaml not overridden in place:\n%s", sm)
	}
	os.RemoveAll(rec.pkgDir)
	assertEmpty(t, tmp)
}

func TestSubmitDryRun(t *testing.T) {
	rec := &recorder{}
	_, base := apiservertest.Start(t, apiserver.Options{Lifecycle: rec})
	body, ct := form(t, submitParts(t, "T", part{field: "dry_run", data: []byte("True")})...)
	code, resp := post(t, base+"/api/v1/topologies", body, ct)
	if code != 200 || resp != `{"response":{"would":"launch"}}` {
		t.Fatalf("dry run: %d %s", code, resp)
	}
	os.RemoveAll(rec.pkgDir)
}

func TestSubmitRefusals(t *testing.T) {
	tmp := emptyTemp(t)
	rec := &recorder{}
	_, base := apiservertest.Start(t, apiserver.Options{Lifecycle: rec, MaxUploadBytes: 1 << 20})
	url := base + "/api/v1/topologies"
	check := func(name string, wantCode int, wantBody string, parts ...part) {
		t.Helper()
		body, ct := form(t, parts...)
		code, resp := post(t, url, body, ct)
		if code != wantCode || !strings.Contains(resp, wantBody) {
			t.Errorf("%s: %d %s; want %d with %s", name, code, resp, wantCode, wantBody)
		}
	}
	all := submitParts(t, "T")
	check("missing fields", 422,
		`{"message":"Validation failed missing required params: [cluster, definition]","errors":{"missing_parameters":["cluster","definition"]}}`,
		all[0], all[2], all[5])
	check("other cluster", 422, `{"message":"Unknown cluster prod expecting 'local'"}`,
		append([]part{{field: "cluster", data: []byte("prod")}}, all[0], all[2], all[4], all[5])...)
	check("name differs from the definition", 422, "the form names topology \\\"Other\\\" but the definition holds \\\"T\\\"",
		append([]part{{field: "name", data: []byte("Other")}}, all[1:]...)...)
	check("name with a slash", 422, "is not a valid name",
		append([]part{{field: "name", data: []byte("../T")}}, all[1:]...)...)
	check("role with a slash", 422, "is not a valid name",
		append([]part{{field: "role", data: []byte("a/b")}}, all[0], all[1], all[3], all[4], all[5])...)
	check("definition not a proto", 422, "not a Topology protobuf",
		all[0], all[1], all[2], part{field: "definition", filename: "T.defn", data: []byte("\xff\xff\xff")}, all[5])
	bad := pkgArchiveWithEscape(t)
	check("archive escaping", 422, "unsafe archive",
		all[0], all[1], all[2], all[4], part{field: "topology", filename: "t.tar.gz", data: bad})
	check("topology too large", 413, "limit of 1 MiB",
		all[0], all[1], all[2], all[4], part{field: "topology", filename: "big.jar", data: make([]byte, 2<<20)})
	if len(rec.calls) != 0 {
		t.Errorf("refused submits reached the library: %v", rec.calls)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(tmp), "escaped")); err == nil {
		t.Error("the archive wrote outside")
	}
	assertEmpty(t, tmp)
}

// pkgArchiveWithEscape is a tar.gz whose entry climbs out with "..".
func pkgArchiveWithEscape(t testing.TB) []byte {
	var buf bytes.Buffer
	writeTarGz(t, &buf, "../escaped", "x")
	return buf.Bytes()
}

func TestRuntimeCommands(t *testing.T) {
	rec := &recorder{}
	_, base := apiservertest.Start(t, apiserver.Options{Lifecycle: rec})
	topo := base + "/api/v1/topologies/local/ads/prod/T"
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/activate", `{"message":"T activated"}`},
		{"POST", "/deactivate", `{"message":"T deactivated"}`},
		{"DELETE", "", `{"message":"T killed"}`},
	} {
		req, _ := http.NewRequest(c.method, topo+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != c.want {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
	code, resp := post(t, topo+"/restart", strings.NewReader("container_id=2"), "application/x-www-form-urlencoded")
	if code != 200 || resp != `{"message":"T restarted"}` || rec.restart != 2 {
		t.Errorf("restart: %d %s %d", code, resp, rec.restart)
	}
	post(t, topo+"/restart", strings.NewReader(""), "application/x-www-form-urlencoded")
	if rec.restart != -1 {
		t.Errorf("restart without container_id: %d, want -1", rec.restart)
	}
	if code, resp := post(t, topo+"/restart", strings.NewReader("container_id=x"), "application/x-www-form-urlencoded"); code != 422 {
		t.Errorf("bad container_id: %d %s", code, resp)
	}
	v := url.Values{"component_parallelism": {"split:3", "count:2"}, "container_number": {"5"}}
	code, resp = post(t, topo+"/update", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
	if code != 200 || resp != `{"message":"T updated"}` || strings.Join(rec.update.ComponentParallelism, ",") != "split:3,count:2" || rec.update.ContainerNumber != "5" {
		t.Errorf("update: %d %s %+v", code, resp, rec.update)
	}
	code, resp = post(t, topo+"/update", strings.NewReader("container_number=4&dry_run=True"), "application/x-www-form-urlencoded")
	if code != 200 || resp != `{"response":"plan"}` || rec.update.ContainerNumber != "4" {
		t.Errorf("update dry run: %d %s", code, resp)
	}
	code, resp = post(t, topo+"/update", strings.NewReader(""), "application/x-www-form-urlencoded")
	if code != 422 || resp != `{"message":"missing component_parallelism or runtime_config param"}` {
		t.Errorf("update without params: %d %s", code, resp)
	}
	// Library errors map to statuses by cause.
	rec.err = exitcode.Errorf(exitcode.NotFound, "Topology 'T' does not exist")
	req, _ := http.NewRequest("DELETE", topo, nil)
	r, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 404 || string(b) != `{"message":"Topology 'T' does not exist"}` {
		t.Errorf("kill unknown: %d %s", r.StatusCode, b)
	}
	rec.err = errors.New("boom")
	if code, resp := post(t, topo+"/activate", nil, ""); code != 500 || resp != `{"message":"boom"}` {
		t.Errorf("failure: %d %s", code, resp)
	}
}

func TestListAndGet(t *testing.T) {
	rec := &recorder{list: []apiserver.TopologyInfo{
		{Name: "A", Cluster: "local", Role: "ads", Environment: "prod", State: "RUNNING"},
		{Name: "B", Cluster: "local", Role: "web", Environment: "default", State: "PAUSED"},
	}}
	_, base := apiservertest.Start(t, apiserver.Options{Lifecycle: rec})
	code, body := get(t, base+"/api/v1/topologies?state=paused")
	var out struct {
		Topologies []apiserver.TopologyInfo `json:"topologies"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil || len(out.Topologies) != 1 || out.Topologies[0].Name != "B" {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/v1/topologies/local/ads/prod/A"); code != 200 || !strings.Contains(body, `"state":"RUNNING"`) {
		t.Errorf("get: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/v1/topologies/local/ads/prod/Nope"); code != 404 {
		t.Errorf("get unknown: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/v1/topologies/local/other/prod/A"); code != 404 || !strings.Contains(body, "runs at local/ads/prod") {
		t.Errorf("get under another role: %d %s", code, body)
	}
}

func writeTarGz(t testing.TB, w io.Writer, name, content string) {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	gz.Close()
}
