package apiserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
)

// Heron's submit form fields.
const (
	fieldName        = "name"
	fieldCluster     = "cluster"
	fieldRole        = "role"
	fieldEnvironment = "environment"
	fieldUser        = "user"
	fieldDefinition  = "definition"
	fieldTopology    = "topology"
)

// requiredSubmitFields in Heron's order (its validation message lists them so).
var requiredSubmitFields = []string{fieldName, fieldCluster, fieldRole, fieldDefinition, fieldTopology}

// submitFields are not config overrides; every other field is.
var submitFields = map[string]bool{
	fieldName: true, fieldCluster: true, fieldRole: true, fieldEnvironment: true,
	fieldUser: true, fieldDefinition: true, fieldTopology: true,
}

// requestConfig is the base config with a request's keys, in Heron's mode:
// local for the local and nomad clusters, else cluster mode.
func (s *Server) requestConfig(t Target, extra map[string]any) *config.Config {
	kv := map[string]any{
		config.KeyCluster:      t.Cluster,
		config.KeyRole:         t.Role,
		config.KeyEnviron:      t.Environ,
		config.KeyTopologyName: t.Name,
	}
	for k, v := range extra {
		kv[k] = v
	}
	if s.opts.Token != "" && s.uploadsToSelf() {
		kv[keyHTTPUploaderToken] = s.opts.Token
	}
	cfg := s.base.With(kv)
	if c := strings.ToLower(s.opts.Cluster); c != "local" && c != "nomad" {
		cfg = cfg.ForMode(config.ClusterMode)
	}
	return cfg
}

// keyHTTPUploaderToken is the HTTP uploader's token key.
const keyHTTPUploaderToken = "heron.uploader.http.token"

// uploadsToSelf reports whether the cluster's HTTP uploader posts to this
// server, the usual pairing: its token is then handed to the uploader, and
// to no other host.
func (s *Server) uploadsToSelf() bool {
	if s.base.Has(keyHTTPUploaderToken) {
		return false
	}
	raw, _ := s.base.String("heron.uploader.http.uri", "")
	u, err := url.Parse(raw)
	if err != nil || u.Port() != strconv.Itoa(int(s.port.Load())) {
		return false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		return true
	}
	own, _ := os.Hostname()
	return host == own || host == s.opts.DownloadHostname
}

// checkName refuses names that would be unsafe in a path (the lifecycle
// library makes paths and state nodes of them).
func checkName(what, v string, mayBeEmpty bool) error {
	if v == "" {
		if mayBeEmpty {
			return nil
		}
		return fmt.Errorf("%s is empty", what)
	}
	if v == "." || v == ".." || strings.ContainsAny(v, "/\\\x00") || strings.HasPrefix(v, ".") {
		return fmt.Errorf("%s %s is not a valid name: no '/', '\\', NUL or leading '.'", what, quote(v))
	}
	if len(v) > 200 {
		return fmt.Errorf("%s is longer than 200 bytes", what)
	}
	return nil
}

// pathTarget reads and checks {cluster}/{role}/{environ}/{name}.
func pathTarget(r *http.Request) (Target, error) {
	t := Target{Cluster: r.PathValue("cluster"), Role: r.PathValue("role"),
		Environ: r.PathValue("environ"), Name: r.PathValue("name")}
	for _, p := range []struct{ what, v string }{{"cluster", t.Cluster}, {"role", t.Role},
		{"environment", t.Environ}, {"topology name", t.Name}} {
		if err := checkName(p.what, p.v, false); err != nil {
			return t, err
		}
	}
	return t, nil
}

// opError answers a failed operation on a topology. A topology not found
// under a cluster this server does not serve is most likely a wrong cluster
// name, so the answer says which cluster the server serves.
func (s *Server) opError(w http.ResponseWriter, t Target, err error) {
	msg := err.Error()
	if statusOf(err) == http.StatusNotFound && t.Cluster != s.opts.Cluster {
		msg += fmt.Sprintf(" (this API server serves cluster %s)", s.opts.Cluster)
	}
	writeMessage(w, statusOf(err), msg)
}

// runtimeOp is activate, deactivate and kill: Heron's 200 {"message": "<name> <done>"}.
func (s *Server) runtimeOp(w http.ResponseWriter, r *http.Request, op, done string,
	run func(context.Context, *config.Config, Target) error) {
	t, err := pathTarget(r)
	if err != nil {
		writeMessage(w, statusUnprocessable, err.Error())
		return
	}
	err = run(r.Context(), s.requestConfig(t, nil), t)
	s.metrics.op(op, err)
	if err != nil {
		s.log.Error().Err(err).Str("topology", t.Name).Str("op", op).Msg("operation failed")
		s.opError(w, t, err)
		return
	}
	s.log.Info().Str("topology", t.Name).Str("op", op).Msg("operation done")
	writeMessage(w, http.StatusOK, t.Name+" "+done)
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	s.runtimeOp(w, r, "activate", "activated", s.life.Activate)
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) {
	s.runtimeOp(w, r, "deactivate", "deactivated", s.life.Deactivate)
}

func (s *Server) handleKill(w http.ResponseWriter, r *http.Request) {
	s.runtimeOp(w, r, "kill", "killed", s.life.Kill)
}

// maxFormBody bounds the urlencoded bodies of restart and update.
const maxFormBody = 1 << 20

func (s *Server) handleRestart(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		writeMessage(w, http.StatusBadRequest, "malformed form body: "+err.Error())
		return
	}
	container := -1
	if v := r.PostForm.Get("container_id"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < -1 {
			writeMessage(w, statusUnprocessable, "container_id "+quote(v)+" is not a container index (-1 for all)")
			return
		}
		container = n
	}
	s.runtimeOp(w, r, "restart", "restarted", func(ctx context.Context, cfg *config.Config, t Target) error {
		cfg = cfg.With(map[string]any{"heron.topology.container.id": int64(container)})
		return s.life.Restart(ctx, cfg, t, container)
	})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	t, err := pathTarget(r)
	if err != nil {
		writeMessage(w, statusUnprocessable, err.Error())
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		writeMessage(w, http.StatusBadRequest, "malformed form body: "+err.Error())
		return
	}
	p := r.PostForm
	job := &UpdateJob{Target: t, DryRunFormat: p.Get("dry_run_format")}
	_, job.DryRun = p["dry_run"]
	// Unlike Heron, parallelism and a container count given together are
	// both applied (Heron drops the count).
	job.ComponentParallelism = splitList(p["component_parallelism"])
	job.ContainerNumber = p.Get("container_number")
	if len(job.ComponentParallelism) == 0 && job.ContainerNumber == "" {
		job.RuntimeConfig = splitList(p["runtime_config"])
		if len(job.RuntimeConfig) == 0 {
			writeMessage(w, statusUnprocessable, "missing component_parallelism or runtime_config param")
			return
		}
	}
	// As Heron: every other parameter also goes into the config.
	extra := map[string]any{}
	for k, v := range p {
		if k != "component_parallelism" && len(v) > 0 {
			extra[k] = v[0]
		}
	}
	if job.DryRun {
		extra["heron.config.dry_run"] = true
	}
	job.Config = s.requestConfig(t, extra)
	dry, err := s.life.Update(r.Context(), job)
	s.metrics.op("update", err)
	switch {
	case err != nil:
		s.log.Error().Err(err).Str("topology", t.Name).Str("op", "update").Msg("operation failed")
		s.opError(w, t, err)
	case job.DryRun:
		writeJSON(w, http.StatusOK, map[string]any{"response": dry})
	default:
		writeMessage(w, http.StatusOK, t.Name+" updated")
	}
}

// splitList flattens repeated fields that may also hold comma lists.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// handleSubmit is Heron's POST /api/v1/topologies.
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	work, err := os.MkdirTemp("", "heron-apiserver-submit-")
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "cannot create a work directory: "+err.Error())
		return
	}
	// Heron deletes its work directory in every case too.
	defer os.RemoveAll(work)

	raw := r.Body
	form, ferr := s.readSubmitForm(w, r, work)
	if ferr != nil {
		s.metrics.op("submit", ferr.err)
		if ferr.status == http.StatusRequestEntityTooLarge {
			s.refuseLarge(w, raw, ferr.err.Error())
			return
		}
		ferr.write(s, w)
		return
	}
	t := Target{Cluster: form.fields[fieldCluster], Role: form.fields[fieldRole],
		Environ: config.DefaultEnviron, Name: form.fields[fieldName]}
	if v, ok := form.fields[fieldEnvironment]; ok {
		t.Environ = v // Heron keeps an empty value empty
	}
	user := t.Role
	if v, ok := form.fields[fieldUser]; ok && v != "" {
		user = v
	}
	overrides := map[string]string{}
	for k, v := range form.fields {
		if !submitFields[k] {
			overrides[k] = v
		}
	}
	_, dryRun := overrides["dry_run"]
	_, verbose := overrides["verbose"]
	_, verboseGC := overrides["verbose_gc"]

	pkg := filepath.Join(work, "pkg")
	job := &SubmitJob{Target: t, User: user, WorkDir: pkg, Overrides: overrides,
		DefnFile: filepath.Join(pkg, t.Name+".defn"), PackageFile: filepath.Join(pkg, "topology.tar.gz"),
		DryRun: dryRun, Verbose: verbose, VerboseGC: verboseGC, DryRunFormat: overrides["dry_run_format"]}
	extra := map[string]any{
		config.KeySubmitUser:             user,
		"heron.config.dry_run":           dryRun,
		"heron.config.verbose":           verbose,
		"heron.config.verbose_gc":        verboseGC,
		"heron.topology.package.file":    job.PackageFile,
		"heron.topology.definition.file": job.DefnFile,
	}
	for k, v := range overrides {
		extra[k] = v
	}
	job.Config = s.requestConfig(t, extra)
	if err := s.prepareSubmit(job, form); err != nil {
		s.metrics.op("submit", err)
		s.log.Warn().Err(err).Str("topology", t.Name).Msg("submit refused")
		writeMessage(w, statusOf(err), err.Error())
		return
	}
	job.Config = job.Config.With(map[string]any{"heron.topology.binary.file": job.TopologyFile})

	dry, err := s.life.Submit(r.Context(), job)
	s.metrics.op("submit", err)
	if err != nil {
		s.log.Error().Err(err).Str("topology", t.Name).Msg("submit failed")
		writeMessage(w, statusOf(err), err.Error())
		return
	}
	if dryRun {
		writeJSON(w, http.StatusOK, map[string]any{"response": dry})
		return
	}
	s.log.Info().Str("topology", t.Name).Str("role", t.Role).Str("environ", t.Environ).Msg("topology submitted")
	w.Header().Set("Location", "/api/v1/topologies/"+t.Cluster+"/"+t.Role+"/"+t.Environ+"/"+t.Name)
	writeJSON(w, http.StatusCreated, struct {
		Name        string `json:"name"`
		Cluster     string `json:"cluster"`
		Role        string `json:"role"`
		Environment string `json:"environment"`
	}{t.Name, t.Cluster, t.Role, t.Environ})
}

// handleList (ours) lists the cluster's topologies with their states.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	cfg := s.requestConfig(Target{Cluster: s.opts.Cluster, Role: currentUser(), Environ: config.DefaultEnviron}, nil)
	list, err := s.life.List(r.Context(), cfg)
	if err != nil {
		writeMessage(w, statusOf(err), err.Error())
		return
	}
	q := r.URL.Query()
	out := make([]TopologyInfo, 0, len(list))
	for _, t := range list {
		if match(q.Get("role"), t.Role) && match(q.Get("environ"), t.Environment) &&
			match(q.Get("environment"), t.Environment) && match(q.Get("state"), t.State) {
			out = append(out, t)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cluster": s.opts.Cluster, "topologies": out})
}

func match(want, got string) bool { return want == "" || strings.EqualFold(want, got) }

// handleTopology (ours) shows one topology's state; 404 when unknown or
// when it runs under another role or environment.
func (s *Server) handleTopology(w http.ResponseWriter, r *http.Request) {
	t, err := pathTarget(r)
	if err != nil {
		writeMessage(w, statusUnprocessable, err.Error())
		return
	}
	list, err := s.life.List(r.Context(), s.requestConfig(t, nil))
	if err != nil {
		s.opError(w, t, err)
		return
	}
	for _, info := range list {
		if info.Name != t.Name {
			continue
		}
		if (info.Role != "" && info.Role != t.Role) || (info.Environment != "" && info.Environment != t.Environ) {
			writeMessage(w, http.StatusNotFound, fmt.Sprintf("topology %s runs at %s/%s/%s, not %s/%s/%s",
				quote(t.Name), info.Cluster, info.Role, info.Environment, t.Cluster, t.Role, t.Environ))
			return
		}
		writeJSON(w, http.StatusOK, info)
		return
	}
	writeMessage(w, http.StatusNotFound, "topology "+quote(t.Name)+" does not exist")
}

// formError is a submit refused while reading the form.
type formError struct {
	status  int
	err     error
	missing []string
}

func (e *formError) write(s *Server, w http.ResponseWriter) {
	s.metrics.rejected.WithLabelValues("bad_form").Inc()
	if e.missing != nil {
		v := validation{Message: e.err.Error()}
		v.Errors.MissingParameters = e.missing
		writeJSON(w, e.status, v)
		return
	}
	writeMessage(w, e.status, e.err.Error())
}
