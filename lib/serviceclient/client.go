// Package serviceclient talks to a heron-apiserver (or Heron's own API
// server) over its REST API: the client behind `heron-submit --service-url`
// and the HTTP uploader. It sends Heron's requests (paths, multipart and form
// fields) and turns answers into values or into errors carrying the toolkit's
// exit codes.
//
// Bodies are streamed both ways: a package is never held in memory.
package serviceclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// EnvToken is the environment variable holding the API server's bearer token.
const EnvToken = "HERON_APISERVER_TOKEN"

// Options configure a Client.
type Options struct {
	// Token is sent as "Authorization: Bearer <token>" when set.
	Token string
	// CAFile is a PEM bundle to trust for an https:// server (besides the
	// system's roots).
	CAFile string
	// Timeout bounds each request but uploads and submits, which may take
	// long with large packages (0: 2 minutes).
	Timeout time.Duration
	// HTTPClient replaces the default client (its Timeout should be 0).
	HTTPClient *http.Client
}

// Client is an API server client. It is safe for concurrent use.
type Client struct {
	base    string
	token   string
	hc      *http.Client
	timeout time.Duration
}

// New makes a client for the server at base (e.g. http://host:9000; a
// trailing slash is dropped, as Heron's CLI drops it).
func New(base string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitcode.Errorf(exitcode.Usage, "service URL %q is not an http:// or https:// URL", base)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc, err = NewHTTPClient(opts.CAFile)
		if err != nil {
			return nil, err
		}
	}
	t := opts.Timeout
	if t <= 0 {
		t = 2 * time.Minute
	}
	return &Client{base: u.String(), token: opts.Token, hc: hc, timeout: t}, nil
}

// NewHTTPClient is an HTTP client suited to large streamed bodies: no
// overall timeout, connect and header timeouts, Expect: 100-continue honoured
// (a refused upload is refused before its body is sent), extra CA roots.
func NewHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 0 // a submit may run long before answering
	tr.ExpectContinueTimeout = 5 * time.Second
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Config, fmt.Errorf("CA file: %w", err))
		}
		pool, _ := x509.SystemCertPool()
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, exitcode.Errorf(exitcode.Config, "CA file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// Base is the server's base URL.
func (c *Client) Base() string { return c.base }

// Target names a topology as the API paths do.
type Target struct {
	Cluster, Role, Environ, Name string
}

func (t Target) path() string {
	return "/api/v1/topologies/" + url.PathEscape(t.Cluster) + "/" + url.PathEscape(t.Role) + "/" +
		url.PathEscape(t.Environ) + "/" + url.PathEscape(t.Name)
}

// Error is a refusal from the server.
type Error struct {
	Status  int
	Message string
	// Missing lists missing submit fields (Heron's validation errors).
	Missing []string
	URL     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("API server %s: %s (HTTP %d)", e.URL, e.Message, e.Status)
}

// ExitCode maps the HTTP status onto the toolkit's exit codes.
func (e *Error) ExitCode() int {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return exitcode.Forbidden
	case e.Status == http.StatusNotFound:
		return exitcode.NotFound
	case e.Status == http.StatusConflict:
		return exitcode.Conflict
	case e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge ||
		e.Status == http.StatusUnprocessableEntity:
		return exitcode.DataErr
	case e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable ||
		e.Status == http.StatusGatewayTimeout:
		return exitcode.Unavailable
	}
	return exitcode.Failure
}

// do sends a request and decodes a 2xx JSON answer into out (when not nil).
// stream marks requests whose bodies may be large: they get no timeout.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, stream bool, out any) (*http.Response, error) {
	if !stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if stream && body != nil {
		req.Header.Set("Expect", "100-continue")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(c.base+path, ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, responseError(c.base+path, resp)
	}
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return resp, exitcode.Errorf(exitcode.DataErr, "API server %s answered %s with a body that is not JSON: %v",
				c.base+path, resp.Status, err)
		}
	}
	return resp, nil
}

// transportError explains a failure to reach the server.
func transportError(u string, ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "API server %s did not answer in time", u),
			"check that heron-apiserver runs and is reachable")
	}
	return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "cannot reach the API server: %v", err),
		"check --service-url and that heron-apiserver runs there")
}

// responseError turns a non-2xx answer into an *Error, reading Heron's
// {"message": ...} body when there is one.
func responseError(u string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, URL: u}
	var body struct {
		Message *string `json:"message"`
		Errors  struct {
			Missing []string `json:"missing_parameters"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &body) == nil && body.Message != nil {
		e.Message, e.Missing = *body.Message, body.Errors.Missing
	} else {
		text := strings.TrimSpace(string(b))
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		if text == "" || strings.HasPrefix(text, "{") {
			text = "Unknown error from API server " + strconv.Itoa(resp.StatusCode)
		}
		e.Message = text
	}
	return e
}

// Message is Heron's {"message": "..."} answer.
type Message struct {
	Message string `json:"message"`
}

func (c *Client) runtime(ctx context.Context, method string, t Target, suffix string, form url.Values) (string, error) {
	var body io.Reader
	ct := ""
	if form != nil {
		body, ct = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	var m Message
	_, err := c.do(ctx, method, t.path()+suffix, body, ct, false, &m)
	return m.Message, err
}

// Kill stops a topology and removes its state (DELETE .../{name}).
func (c *Client) Kill(ctx context.Context, t Target) (string, error) {
	return c.runtime(ctx, http.MethodDelete, t, "", nil)
}

// Activate resumes a deactivated topology.
func (c *Client) Activate(ctx context.Context, t Target) (string, error) {
	return c.runtime(ctx, http.MethodPost, t, "/activate", nil)
}

// Deactivate pauses a topology's spouts.
func (c *Client) Deactivate(ctx context.Context, t Target) (string, error) {
	return c.runtime(ctx, http.MethodPost, t, "/deactivate", nil)
}

// Restart restarts one container, or every container when container is -1.
func (c *Client) Restart(ctx context.Context, t Target, container int) (string, error) {
	return c.runtime(ctx, http.MethodPost, t, "/restart", url.Values{"container_id": {strconv.Itoa(container)}})
}

// UpdateRequest is Heron's update form.
type UpdateRequest struct {
	// ComponentParallelism holds "component:N" items.
	ComponentParallelism []string
	// ContainerNumber is the new container count ("" for none).
	ContainerNumber string
	// RuntimeConfig holds "[component:]key:value" items.
	RuntimeConfig []string
	DryRun        bool
	DryRunFormat  string
}

// UpdateResult is the server's answer: a message, or a dry run's plan.
type UpdateResult struct {
	Message  string          `json:"message,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Update changes parallelism, container count or runtime config.
func (c *Client) Update(ctx context.Context, t Target, u UpdateRequest) (*UpdateResult, error) {
	form := url.Values{}
	for _, v := range u.ComponentParallelism {
		form.Add("component_parallelism", v)
	}
	if u.ContainerNumber != "" {
		form.Set("container_number", u.ContainerNumber)
	}
	for _, v := range u.RuntimeConfig {
		form.Add("runtime_config", v)
	}
	if u.DryRun {
		form.Set("dry_run", "True")
		if u.DryRunFormat != "" {
			form.Set("dry_run_format", u.DryRunFormat)
		}
	}
	var out UpdateResult
	_, err := c.do(ctx, http.MethodPost, t.path()+"/update", strings.NewReader(form.Encode()),
		"application/x-www-form-urlencoded", false, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Topology is one entry of the server's topology listing (GET
// /api/v1/topologies); heron-apiserver answers with this very type.
type Topology struct {
	Name           string `json:"name"`
	ID             string `json:"id,omitempty"`
	Cluster        string `json:"cluster,omitempty"`
	Role           string `json:"role,omitempty"`
	Environment    string `json:"environment,omitempty"`
	State          string `json:"state,omitempty"`
	SubmissionTime int64  `json:"submission_time,omitempty"`
	SubmissionUser string `json:"submission_user,omitempty"`
	// Extra carries whatever else the lifecycle library reports
	// (containers, instances).
	Extra map[string]any `json:"extra,omitempty"`
}

// ListFilter narrows List; empty fields match everything.
type ListFilter struct {
	Role, Environ, State string
}

// List reports the cluster's topologies (a heron-apiserver extension;
// Heron's API server has no listing and answers 404).
func (c *Client) List(ctx context.Context, f ListFilter) ([]Topology, error) {
	q := url.Values{}
	for k, v := range map[string]string{"role": f.Role, "environ": f.Environ, "state": f.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/api/v1/topologies"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Topologies []Topology `json:"topologies"`
	}
	if _, err := c.do(ctx, http.MethodGet, path, nil, "", false, &out); err != nil {
		return nil, err
	}
	if out.Topologies == nil {
		out.Topologies = []Topology{}
	}
	return out.Topologies, nil
}

// Get reports one topology's state (a heron-apiserver extension).
func (c *Client) Get(ctx context.Context, t Target) (*Topology, error) {
	var out Topology
	if _, err := c.do(ctx, http.MethodGet, t.path(), nil, "", false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Version returns the server's heron.build.* keys.
func (c *Client) Version(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/version", nil, "", false, &out)
	return out, err
}
