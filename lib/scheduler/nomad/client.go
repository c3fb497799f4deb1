package nomad

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Client speaks the few calls of Nomad's HTTP API the scheduler needs, with
// net/http and encoding/json: Nomad's Go API module would bring much of
// Nomad with it.
type Client struct {
	base      *url.URL
	token     string
	region    string
	namespace string
	http      *http.Client
}

// ErrNotFound is a 404 from Nomad.
var ErrNotFound = errors.New("not found")

// NewClient makes a client for the settings' API address, token, region,
// namespace and TLS files.
func NewClient(s *Settings) (*Client, error) {
	u, err := url.Parse(s.URI)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "%s: %v", KeySchedulerURI, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if u.Scheme == "https" || s.TLS.CAFile != "" || s.TLS.CertFile != "" {
		tc := &tls.Config{ServerName: s.TLS.ServerName, InsecureSkipVerify: s.TLS.SkipVerify, MinVersion: tls.VersionTLS12}
		if s.TLS.CAFile != "" {
			pem, err := os.ReadFile(s.TLS.CAFile)
			if err != nil {
				return nil, exitcode.Errorf(exitcode.Config, "%s: %v", KeyTLSCA, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, exitcode.Errorf(exitcode.Config, "%s: %s holds no PEM certificate", KeyTLSCA, s.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if s.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.TLS.CertFile, s.TLS.KeyFile)
			if err != nil {
				return nil, exitcode.Errorf(exitcode.Config, "%s/%s: %v", KeyTLSCert, KeyTLSKey, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	return &Client{base: u, token: s.Token, region: s.Region, namespace: s.Namespace,
		http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}, nil
}

// do sends one request; body (if not nil) is sent as JSON and a 2xx
// response is decoded into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if c.region != "" && q.Get("region") == "" {
		q.Set("region", c.region)
	}
	if c.namespace != "" && q.Get("namespace") == "" {
		q.Set("namespace", c.namespace)
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Nomad-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "nomad at %s: %v", c.base.Host, err),
			"check "+KeySchedulerURI+" and that the Nomad agent runs")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "nomad %s %s: %v", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("nomad %s %s: %w: %s", method, path, ErrNotFound, strings.TrimSpace(string(b)))
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return exitcode.WithHint(exitcode.Errorf(exitcode.Forbidden, "nomad %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b))),
			"set "+KeyToken+" (or NOMAD_TOKEN) to an ACL token allowed to submit jobs")
	case resp.StatusCode >= 500:
		return exitcode.Errorf(exitcode.Unavailable, "nomad %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	case resp.StatusCode >= 300:
		return exitcode.Errorf(exitcode.Failure, "nomad %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return exitcode.Errorf(exitcode.Failure, "nomad %s %s: unreadable answer: %v", method, path, err)
	}
	return nil
}

// RegisterResponse is Nomad's answer to a job registration.
type RegisterResponse struct {
	EvalID         string
	JobModifyIndex uint64
	Warnings       string
}

// Register creates or updates a job. With enforceIndex > 0 Nomad refuses
// the write when the job changed since that modify index (0 with enforce
// means "must not exist").
func (c *Client) Register(ctx context.Context, job any, enforce bool, index uint64) (*RegisterResponse, error) {
	body := map[string]any{"Job": job}
	if enforce {
		body["EnforceIndex"] = true
		body["JobModifyIndex"] = index
	}
	var out RegisterResponse
	return &out, c.do(ctx, http.MethodPut, "/v1/jobs", nil, body, &out)
}

// ValidateResponse is Nomad's job validation answer.
type ValidateResponse struct {
	DriverConfigValidated bool
	ValidationErrors      []string
	Error                 string
	Warnings              string
}

// Validate asks the agent to check a job without registering it.
func (c *Client) Validate(ctx context.Context, job any) (*ValidateResponse, error) {
	var out ValidateResponse
	return &out, c.do(ctx, http.MethodPut, "/v1/validate/job", nil, map[string]any{"Job": job}, &out)
}

// JobInfo is the part of a job the scheduler reads back.
type JobInfo struct {
	ID             string
	Name           string
	Status         string
	Stop           bool
	Meta           map[string]string
	JobModifyIndex uint64
	TaskGroups     []struct {
		Name string
		Meta map[string]string
	}
}

// Job reads a job; a missing job is ErrNotFound.
func (c *Client) Job(ctx context.Context, id string) (*JobInfo, error) {
	var out JobInfo
	return &out, c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(id), nil, nil, &out)
}

// RawJob reads a job as Nomad stores it, to register it again changed.
func (c *Client) RawJob(ctx context.Context, id string) (map[string]any, error) {
	var out map[string]any
	return out, c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(id), nil, nil, &out)
}

// Deregister stops a job; purge removes it from Nomad's state at once.
func (c *Client) Deregister(ctx context.Context, id string, purge bool) (evalID string, err error) {
	q := url.Values{}
	if purge {
		q.Set("purge", "true")
	}
	var out struct{ EvalID string }
	err = c.do(ctx, http.MethodDelete, "/v1/job/"+url.PathEscape(id), q, nil, &out)
	return out.EvalID, err
}

// TaskEvent is one event of a task's history.
type TaskEvent struct {
	Type           string
	Time           int64
	DisplayMessage string
	FailsTask      bool
	DownloadError  string
	DriverError    string
	SetupError     string
}

// TaskState is a task's state in an allocation.
type TaskState struct {
	State    string
	Failed   bool
	Restarts uint64
	Events   []TaskEvent
}

// Alloc is an allocation as Nomad lists it.
type Alloc struct {
	ID            string
	JobID         string
	TaskGroup     string
	NodeID        string
	DesiredStatus string
	ClientStatus  string
	TaskStates    map[string]TaskState
	CreateIndex   uint64
}

// Terminal reports whether the allocation has stopped for good.
func (a *Alloc) Terminal() bool {
	switch a.ClientStatus {
	case "complete", "failed", "lost":
		return true
	}
	return false
}

// Allocations lists a job's allocations (all of them: running and stopped);
// a missing job gives none.
func (c *Client) Allocations(ctx context.Context, jobID string) ([]Alloc, error) {
	var out []Alloc
	err := c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(jobID)+"/allocations", url.Values{"all": {"true"}}, nil, &out)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out, err
}

// AllocationsByJob lists every allocation whose job id is jobID, also after
// the job was purged (until Nomad garbage-collects them).
func (c *Client) AllocationsByJob(ctx context.Context, jobID string) ([]Alloc, error) {
	var out []Alloc
	q := url.Values{"filter": {fmt.Sprintf("JobID == %q", jobID)}, "task_states": {"true"}}
	return out, c.do(ctx, http.MethodGet, "/v1/allocations", q, nil, &out)
}

// RestartAlloc restarts every task of an allocation in place.
func (c *Client) RestartAlloc(ctx context.Context, allocID string) error {
	return c.do(ctx, http.MethodPut, "/v1/client/allocation/"+url.PathEscape(allocID)+"/restart", nil,
		map[string]any{"AllTasks": true}, nil)
}

// Evaluation is the part of an evaluation the scheduler reads.
type Evaluation struct {
	ID                string
	Status            string
	StatusDescription string
	BlockedEval       string
	FailedTGAllocs    map[string]struct {
		NodesEvaluated     int
		NodesExhausted     int
		DimensionExhausted map[string]int
		ConstraintFiltered map[string]int
		ClassFiltered      map[string]int
	}
}

// Evaluation reads one evaluation.
func (c *Client) Evaluation(ctx context.Context, id string) (*Evaluation, error) {
	var out Evaluation
	return &out, c.do(ctx, http.MethodGet, "/v1/evaluation/"+url.PathEscape(id), nil, nil, &out)
}

// Node is a client node as Nomad lists it.
type Node struct {
	ID         string
	Name       string
	Status     string
	Drivers    map[string]struct{ Detected, Healthy bool }
	Attributes map[string]string
}

// Nodes lists the client nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var out []Node
	return out, c.do(ctx, http.MethodGet, "/v1/nodes", nil, nil, &out)
}

// Node reads one node with its attributes.
func (c *Client) Node(ctx context.Context, id string) (*Node, error) {
	var out Node
	return &out, c.do(ctx, http.MethodGet, "/v1/node/"+url.PathEscape(id), nil, nil, &out)
}

// ServiceRegistration is one instance of a service in Nomad's catalogue.
type ServiceRegistration struct {
	ID          string
	ServiceName string
	Tags        []string
	Address     string
	Port        int
	JobID       string
	AllocID     string
}

// Services reads Nomad's own catalogue entries of a service.
func (c *Client) Services(ctx context.Context, name string) ([]ServiceRegistration, error) {
	var out []ServiceRegistration
	err := c.do(ctx, http.MethodGet, "/v1/service/"+url.PathEscape(name), nil, nil, &out)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out, err
}

// JobServices lists a job's registrations in Nomad's own catalogue.
func (c *Client) JobServices(ctx context.Context, jobID string) ([]ServiceRegistration, error) {
	var out []ServiceRegistration
	err := c.do(ctx, http.MethodGet, "/v1/job/"+url.PathEscape(jobID)+"/services", nil, nil, &out)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out, err
}

// UIJobURL is the job's page in Nomad's web UI.
func (c *Client) UIJobURL(jobID string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/ui/jobs/" + url.PathEscape(jobID)
	if c.namespace != "" && c.namespace != "default" {
		u.Path += "@" + url.PathEscape(c.namespace)
	}
	u.RawQuery = ""
	return u.String()
}
