package tmanager

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// The connection between a container's stream manager and the topology
// manager carries frames of
//
//	uint32 length of the rest | uint8 type | payload
//
// A stream manager opens it, sends a registration (JSON), and then sends
// PublishMetrics protos; the topology manager answers the registration and
// pushes every new PhysicalPlan proto.
const (
	msgRegister    byte = 1
	msgRegisterAck byte = 2
	msgPlan        byte = 3
	msgMetrics     byte = 4
)

// maxMessage bounds a message (heron.tmanager.network.server.options.maximum.packet.mb).
const maxMessage = 16 << 20

func writeMsg(w *bufio.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(1+len(payload)))
	hdr[4] = typ
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

func readMsg(r *bufio.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 1 || n > maxMessage {
		return 0, nil, fmt.Errorf("message of %d bytes is out of bounds", n)
	}
	b := make([]byte, n-1)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return hdr[4], b, nil
}

// Registration is what a stream manager tells the topology manager about
// its container; it ends up in the physical plan.
type Registration struct {
	StmgrID       string `json:"stmgr_id"`
	TopologyName  string `json:"topology_name"`
	TopologyID    string `json:"topology_id"`
	Host          string `json:"host"`
	DataPort      int32  `json:"data_port"`
	LocalDataPort int32  `json:"local_data_port"`
	ShellPort     int32  `json:"shell_port"`
	Pid           int32  `json:"pid"`
	Cwd           string `json:"cwd"`
	// PackingPlanID is the id of the plan the container runs. Heron gives
	// every plan of a topology the topology's id, so it cannot tell plans
	// apart: PackingPlanDigest does.
	PackingPlanID string `json:"packing_plan_id"`
	// PackingPlanDigest is PlanDigest of the plan the container runs. The
	// topology manager counts a container as registered only when it runs
	// the topology manager's current plan; a container still on an older
	// plan registers again once it has restarted on the new one.
	PackingPlanDigest string `json:"packing_plan_digest,omitempty"`
	// Session orders the registrations of one executor process (Host and
	// Pid): each runtime it starts uses a larger value, so a registration
	// that reaches the topology manager after its successor's is refused
	// instead of evicting it.
	Session int64 `json:"session,omitempty"`
}

// PlanDigest identifies the content of a packing plan: equal plans give
// equal digests whoever decoded them.
func PlanDigest(pp *systempb.PackingPlan) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pp)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

type registerAck struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}
