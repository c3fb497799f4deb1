package tmanager

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// registerTimeout bounds the wait for the answer to a registration.
const registerTimeout = 30 * time.Second

// Client is a container's link to the topology manager: it finds it through
// the state manager, registers, receives physical plans and sends metrics.
// It reconnects for as long as its context lives, following the location
// when container 0 moves or restarts.
type Client struct {
	Store    statemgr.Store
	Topology string
	Reg      Registration
	Log      zerolog.Logger
	// OnPlan receives every physical plan, in order.
	OnPlan func(*systempb.PhysicalPlan)

	mu      sync.Mutex
	loc     *tmanagerpb.TManagerLocation
	locCh   chan struct{}
	conn    net.Conn
	metrics chan []byte
}

// Publish queues metrics for the topology manager. When the topology
// manager is unreachable they are dropped, as Heron's sink drops them.
func (c *Client) Publish(pm *tmanagerpb.PublishMetrics) {
	b, err := proto.Marshal(pm)
	if err != nil {
		return
	}
	select {
	case c.metricsChan() <- b:
	default:
	}
}

func (c *Client) metricsChan() chan []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics == nil {
		c.metrics = make(chan []byte, 16)
	}
	return c.metrics
}

// Run keeps the client connected until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	c.locCh = make(chan struct{}, 1)
	c.mu.Unlock()
	metrics := c.metricsChan()
	watch, err := c.Store.Watch(ctx, statemgr.TManagers, c.Topology)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped as it started
		}
		return fmt.Errorf("watch the topology manager location of %s: %w", c.Topology, err)
	}
	go func() {
		for ev := range watch {
			var loc *tmanagerpb.TManagerLocation
			if ev.Type == statemgr.EventCreated || ev.Type == statemgr.EventChanged {
				l := &tmanagerpb.TManagerLocation{}
				if nodes.Unmarshal(ev.Data, l) == nil {
					loc = l
				}
			} else if ev.Type == statemgr.EventReconnected {
				continue
			}
			c.mu.Lock()
			changed := !proto.Equal(loc, c.loc)
			c.loc = loc
			conn := c.conn
			c.mu.Unlock()
			if changed {
				if conn != nil && loc != nil {
					conn.Close()
				}
				select {
				case c.locCh <- struct{}{}:
				default:
				}
			}
		}
	}()
	wait := 200 * time.Millisecond
	for ctx.Err() == nil {
		c.mu.Lock()
		loc := c.loc
		c.mu.Unlock()
		if loc == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-c.locCh:
			}
			continue
		}
		err := c.session(ctx, loc, metrics)
		if ctx.Err() != nil {
			return nil
		}
		c.Log.Debug().Err(err).Msg("topology manager session ended; reconnecting")
		select {
		case <-ctx.Done():
			return nil
		case <-c.locCh:
		case <-time.After(wait):
		}
		if wait *= 2; wait > 2*time.Second {
			wait = 2 * time.Second
		}
	}
	return nil
}

func (c *Client) session(ctx context.Context, loc *tmanagerpb.TManagerLocation, metrics chan []byte) error {
	addr := net.JoinHostPort(loc.GetHost(), strconv.Itoa(int(loc.GetServerPort())))
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriterSize(conn, 64<<10)
	reg := c.Reg
	reg.TopologyName = c.Topology
	b, _ := json.Marshal(reg)
	if err := writeMsg(w, msgRegister, b); err != nil {
		return err
	}
	// A topology manager that accepted but never answers must not keep
	// this container unregistered: give up and register again.
	_ = conn.SetReadDeadline(time.Now().Add(registerTimeout))
	typ, b, err := readMsg(r)
	if err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Time{})
	var ack registerAck
	if typ != msgRegisterAck || json.Unmarshal(b, &ack) != nil {
		return fmt.Errorf("topology manager at %s did not answer the registration", addr)
	}
	if !ack.OK {
		c.Log.Error().Str("reason", ack.Message).Msg("topology manager refused the registration")
		return fmt.Errorf("registration refused: %s", ack.Message)
	}
	c.Log.Info().Str("tmanager", addr).Msg("registered with the topology manager")
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case m := <-metrics:
				if err := writeMsg(w, msgMetrics, m); err != nil {
					conn.Close()
					return
				}
			}
		}
	}()
	for {
		typ, b, err := readMsg(r)
		if err != nil {
			return err
		}
		if typ != msgPlan {
			continue
		}
		pp := &systempb.PhysicalPlan{}
		if err := proto.Unmarshal(b, pp); err != nil {
			return fmt.Errorf("unreadable physical plan: %w", err)
		}
		if c.OnPlan != nil {
			c.OnPlan(pp)
		}
	}
}
