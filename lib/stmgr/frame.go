package stmgr

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The wire between stream managers. Every frame is
//
//	uint32 length of the rest | uint8 type | body
//
// with big-endian integers. A data frame's body is
//
//	int32 src task | int32 dst task | uint8 encoding | uint16 stream length |
//	stream id | uint32 tuple count | lines
//
// so a batch crosses the network as it sits in memory. An ack frame's body is
// a run of 21-byte records (uint8 kind, int32 spout task, uint64 root,
// uint64 value). The first frame on a connection is a hello naming the
// sender's container and topology id.
const (
	frameHello byte = 1
	frameData  byte = 2
	frameAck   byte = 3
	frameBP    byte = 4
)

// MaxFrame bounds a frame so a corrupt length cannot make a reader allocate
// without bound.
const MaxFrame = 64 << 20

const ackRecord = 21

// Ack record kinds.
const (
	ackKind  byte = 1
	failKind byte = 2
)

func writeBatchFrame(w *bufio.Writer, b *batch) error {
	var hdr [32]byte
	switch b.enc {
	case encAck:
		binary.BigEndian.PutUint32(hdr[0:], uint32(1+len(b.buf)))
		hdr[4] = frameAck
		if _, err := w.Write(hdr[:5]); err != nil {
			return err
		}
		_, err := w.Write(b.buf)
		return err
	case encBP:
		binary.BigEndian.PutUint32(hdr[0:], 2)
		hdr[4] = frameBP
		hdr[5] = byte(b.n)
		_, err := w.Write(hdr[:6])
		return err
	}
	sid := b.stream.ID
	if len(sid) > 0xffff {
		return fmt.Errorf("stream id too long")
	}
	n := 1 + 4 + 4 + 1 + 2 + len(sid) + 4 + len(b.buf)
	binary.BigEndian.PutUint32(hdr[0:], uint32(n))
	hdr[4] = frameData
	binary.BigEndian.PutUint32(hdr[5:], uint32(b.src))
	binary.BigEndian.PutUint32(hdr[9:], uint32(b.dst))
	hdr[13] = b.enc
	binary.BigEndian.PutUint16(hdr[14:], uint16(len(sid)))
	if _, err := w.Write(hdr[:16]); err != nil {
		return err
	}
	if _, err := w.WriteString(sid); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(hdr[0:], uint32(b.n))
	if _, err := w.Write(hdr[:4]); err != nil {
		return err
	}
	_, err := w.Write(b.buf)
	return err
}

func writeHello(w *bufio.Writer, body []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(1+len(body)))
	hdr[4] = frameHello
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Flush()
}

// frame is one frame read from the wire.
type frame struct {
	typ      byte
	src, dst int32
	enc      byte
	stream   string
	n        int
	body     *batch // data and ack frames: a pooled batch holding the payload
	hello    []byte
	bp       bool
}

var errFrame = errors.New("malformed frame")

// readFrame reads one frame; streams interns stream ids so that a data
// frame costs no allocation for them.
func readFrame(r *bufio.Reader, intern func(string) string) (frame, error) {
	var f frame
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:5]); err != nil {
		return f, err
	}
	n := int(binary.BigEndian.Uint32(hdr[0:]))
	if n < 1 || n > MaxFrame {
		return f, fmt.Errorf("%w: length %d", errFrame, n)
	}
	f.typ = hdr[4]
	rest := n - 1
	switch f.typ {
	case frameHello:
		f.hello = make([]byte, rest)
		_, err := io.ReadFull(r, f.hello)
		return f, err
	case frameBP:
		if rest != 1 {
			return f, fmt.Errorf("%w: back-pressure frame of %d bytes", errFrame, rest)
		}
		c, err := r.ReadByte()
		f.bp = c == 1
		return f, err
	case frameAck:
		if rest%ackRecord != 0 {
			return f, fmt.Errorf("%w: ack frame of %d bytes", errFrame, rest)
		}
		b := getBatch()
		b.enc = encAck
		b.buf = grow(b.buf, rest)
		if _, err := io.ReadFull(r, b.buf); err != nil {
			putBatch(b)
			return f, err
		}
		b.n = rest / ackRecord
		f.body = b
		return f, nil
	case frameData:
		if rest < 15 {
			return f, fmt.Errorf("%w: data frame of %d bytes", errFrame, rest)
		}
		if _, err := io.ReadFull(r, hdr[:11]); err != nil {
			return f, err
		}
		f.src = int32(binary.BigEndian.Uint32(hdr[0:]))
		f.dst = int32(binary.BigEndian.Uint32(hdr[4:]))
		f.enc = hdr[8]
		sl := int(binary.BigEndian.Uint16(hdr[9:]))
		if rest < 15+sl {
			return f, fmt.Errorf("%w: stream id overruns frame", errFrame)
		}
		sb, err := r.Peek(sl)
		if err != nil {
			return f, err
		}
		f.stream = intern(string(sb))
		if _, err := r.Discard(sl); err != nil {
			return f, err
		}
		if _, err := io.ReadFull(r, hdr[:4]); err != nil {
			return f, err
		}
		f.n = int(binary.BigEndian.Uint32(hdr[0:]))
		b := getBatch()
		b.buf = grow(b.buf, rest-15-sl)
		if _, err := io.ReadFull(r, b.buf); err != nil {
			putBatch(b)
			return f, err
		}
		f.body = b
		return f, nil
	default:
		return f, fmt.Errorf("%w: unknown type %d", errFrame, f.typ)
	}
}

// grow returns buf resized to n bytes, reallocating only when needed.
func grow(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]byte, n)
}

func appendAck(buf []byte, kind byte, task int32, root, value uint64) []byte {
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint32(buf, uint32(task))
	buf = binary.BigEndian.AppendUint64(buf, root)
	return binary.BigEndian.AppendUint64(buf, value)
}

func parseAck(rec []byte) (kind byte, task int32, root, value uint64) {
	return rec[0], int32(binary.BigEndian.Uint32(rec[1:])), binary.BigEndian.Uint64(rec[5:]), binary.BigEndian.Uint64(rec[13:])
}
