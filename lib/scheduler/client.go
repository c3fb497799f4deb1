package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// LibraryEndpoint is what Heron's library-mode schedulers write as their
// endpoint: there is no server to call.
const LibraryEndpoint = "scheduler_as_lib_no_endpoint"

// Paths of Heron's scheduler HTTP server.
const (
	PathKill    = "/kill"
	PathRestart = "/restart"
	PathUpdate  = "/update"
)

// Kill asks the topology's scheduler to stop every container.
func Kill(ctx context.Context, store statemgr.Store, name string) error {
	return call(ctx, store, name, PathKill, &schedulerpb.KillTopologyRequest{TopologyName: proto.String(name)})
}

// Restart asks the scheduler to restart one container, or all with -1.
func Restart(ctx context.Context, store statemgr.Store, name string, container int) error {
	return call(ctx, store, name, PathRestart, &schedulerpb.RestartTopologyRequest{
		TopologyName: proto.String(name), ContainerIndex: proto.Int32(int32(container)),
	})
}

// Update asks the scheduler to move the topology from the current packing
// plan to the proposed one.
func Update(ctx context.Context, store statemgr.Store, name string, current, proposed *systempb.PackingPlan) error {
	return call(ctx, store, name, PathUpdate, &schedulerpb.UpdateTopologyRequest{
		CurrentPackingPlan: current, ProposedPackingPlan: proposed,
	})
}

// Endpoint reads the scheduler's host:port from the state manager.
func Endpoint(ctx context.Context, store statemgr.Store, name string) (string, error) {
	loc, err := nodes.Client{Store: store}.SchedulerLocation(ctx, name)
	if errors.Is(err, statemgr.ErrNotFound) {
		return "", exitcode.WithHint(exitcode.Errorf(exitcode.NotFound, "topology %s has no scheduler location; its scheduler is not running", name),
			"if the topology was left half-submitted, kill it to clean its state")
	}
	if err != nil {
		return "", err
	}
	ep := loc.GetHttpEndpoint()
	if ep == LibraryEndpoint || ep == "" {
		return "", exitcode.Errorf(exitcode.Config, "topology %s runs under a library-mode scheduler (endpoint %q), which has no server to call", name, ep)
	}
	return ep, nil
}

func call(ctx context.Context, store statemgr.Store, name, path string, req proto.Message) error {
	ep, err := Endpoint(ctx, store, name)
	if err != nil {
		return err
	}
	return Call(ctx, ep, path, req)
}

// Call sends one request to a scheduler at host:port the way Heron's
// HttpServiceSchedulerClient does: POST, the serialized request as body,
// and a SchedulerResponse back whose status decides success.
func Call(ctx context.Context, endpoint, path string, req proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	u := (&url.URL{Scheme: "http", Host: endpoint, Path: path}).String()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "scheduler at %s: %v", endpoint, err),
			"the topology's scheduler process is not running; kill the topology to clean its state")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "scheduler at %s: %v", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return exitcode.Errorf(exitcode.Failure, "scheduler at %s%s: HTTP %s", endpoint, path, resp.Status)
	}
	var sr schedulerpb.SchedulerResponse
	if err := proto.Unmarshal(b, &sr); err != nil {
		return exitcode.Errorf(exitcode.Failure, "scheduler at %s%s: unreadable response: %v", endpoint, path, err)
	}
	if st := sr.GetStatus(); st.GetStatus() != systempb.StatusCode_OK {
		msg := st.GetMessage()
		if msg == "" {
			msg = "request refused"
		}
		return exitcode.Errorf(exitcode.Failure, "scheduler at %s%s: %s", endpoint, path, msg)
	}
	return nil
}

// Response builds the SchedulerResponse the server answers with.
func Response(err error) *schedulerpb.SchedulerResponse {
	st := &systempb.Status{Status: systempb.StatusCode_OK.Enum()}
	if err != nil {
		st.Status = systempb.StatusCode_NOTOK.Enum()
		st.Message = proto.String(err.Error())
	}
	return &schedulerpb.SchedulerResponse{Status: st}
}

// TManager controller: activate and deactivate go to the topology manager
// directly, as Heron's runtime manager does.

// Activate asks the topology manager to run a paused topology.
func Activate(ctx context.Context, store statemgr.Store, name string) error {
	return controller(ctx, store, name, "activate")
}

// Deactivate asks the topology manager to pause a running topology.
func Deactivate(ctx context.Context, store statemgr.Store, name string) error {
	return controller(ctx, store, name, "deactivate")
}

func controller(ctx context.Context, store statemgr.Store, name, verb string) error {
	loc, err := nodes.Client{Store: store}.TManagerLocation(ctx, name)
	if errors.Is(err, statemgr.ErrNotFound) {
		return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "topology %s has no topology manager location yet", name),
			"wait for the topology to start (heron-statemgr get tmanagerlocation ...) and retry")
	}
	if err != nil {
		return err
	}
	u := fmt.Sprintf("http://%s:%d/%s?topologyid=%s", loc.GetHost(), loc.GetControllerPort(), verb, url.QueryEscape(loc.GetTopologyId()))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "topology manager of %s at %s:%d: %v", name, loc.GetHost(), loc.GetControllerPort(), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		code := exitcode.Failure
		if resp.StatusCode >= 500 {
			code = exitcode.Unavailable
		}
		return exitcode.Errorf(code, "topology manager of %s refused %s: HTTP %d %s", name, verb, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}
