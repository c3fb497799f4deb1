package tmstats

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
)

// DefaultTimeout is how long a call waits for the topology manager (Heron's
// tracker uses 5 s).
const DefaultTimeout = 5 * time.Second

// Client calls a stats port: Heron's topology manager, ours, or Heron's
// metrics cache (which lacks /stmgrsregistrationsummary).
type Client struct {
	// Base is the server's URL, e.g. http://host:stats_port.
	Base string
	// HTTP is the client to use; nil means one with DefaultTimeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// NewClient returns a client for http://host:port.
func NewClient(host string, port int) *Client {
	return &Client{Base: fmt.Sprintf("http://%s:%d", host, port)}
}

// HTTPError is a stats-port answer with an HTTP status of 400 or more.
type HTTPError struct {
	Path string
	Code int
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("topology manager %s answered HTTP %d: %s", e.Path, e.Code, e.Body)
}

func (c *Client) call(ctx context.Context, path string, req, resp proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/octet-stream")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	res, err := hc.Do(hr)
	if err != nil {
		return fmt.Errorf("reach topology manager at %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read topology manager answer from %s%s: %w", c.Base, path, err)
	}
	if res.StatusCode >= 400 {
		if len(b) > 200 {
			b = b[:200]
		}
		return &HTTPError{Path: path, Code: res.StatusCode, Body: string(bytes.TrimSpace(b))}
	}
	if err := proto.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("topology manager %s%s sent an invalid answer: %w", c.Base, path, err)
	}
	return nil
}

// Metrics posts a MetricRequest to /stats.
func (c *Client) Metrics(ctx context.Context, req *tmanagerpb.MetricRequest) (*tmanagerpb.MetricResponse, error) {
	resp := &tmanagerpb.MetricResponse{}
	return resp, c.call(ctx, "/stats", req, resp)
}

// Exceptions posts an ExceptionLogRequest to /exceptions.
func (c *Client) Exceptions(ctx context.Context, req *tmanagerpb.ExceptionLogRequest) (*tmanagerpb.ExceptionLogResponse, error) {
	resp := &tmanagerpb.ExceptionLogResponse{}
	return resp, c.call(ctx, "/exceptions", req, resp)
}

// ExceptionSummary posts an ExceptionLogRequest to /exceptionsummary.
func (c *Client) ExceptionSummary(ctx context.Context, req *tmanagerpb.ExceptionLogRequest) (*tmanagerpb.ExceptionLogResponse, error) {
	resp := &tmanagerpb.ExceptionLogResponse{}
	return resp, c.call(ctx, "/exceptionsummary", req, resp)
}

// Registrations posts to /stmgrsregistrationsummary.
func (c *Client) Registrations(ctx context.Context) (*tmanagerpb.StmgrsRegistrationSummaryResponse, error) {
	resp := &tmanagerpb.StmgrsRegistrationSummaryResponse{}
	return resp, c.call(ctx, "/stmgrsregistrationsummary", &tmanagerpb.StmgrsRegistrationSummaryRequest{}, resp)
}
