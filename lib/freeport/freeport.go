// Package freeport picks TCP ports for servers that another process (or a
// later call) binds: the ports a scheduler passes on an executor's command
// line, the ports a test gives the server it starts.
//
// A port that was free when it was picked can be taken before its server
// binds it. Ports from the kernel's ephemeral range
// (net.ipv4.ip_local_port_range) are the risky ones: the kernel hands them
// to every outgoing connection and every listener on port 0, so asking the
// kernel for a free port (listen on :0, close) returns exactly the kind of
// port the next connect() may take. Pick therefore chooses at random
// outside that range (below it when there is room, else above it), checks
// that the port can be listened on, and never returns the same port twice
// within Reuse in one process.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Linux's default ephemeral range, used when /proc cannot be read.
const (
	DefaultEphemeralLo = 32768
	DefaultEphemeralHi = 60999
)

// Bounds of the ranges Pick prefers, all below the ephemeral range. First
// 10000..19999: above most well-known service ports and below Nomad's
// default dynamic port range (20000-32000), because Nomad does not check
// that a host port is free before it gives it to a task, so a server
// listening there (a test's, or a local cluster's on a Nomad client) can
// break a Nomad allocation. Then 20000..lo-1.
const (
	preferFloor = 10000
	nomadFloor  = 20000
	lowFloor    = 20000
	// minSpan is the fewest ports a range needs to be worth picking from.
	minSpan = 1000
)

// Reuse is how long a port handed out is not handed out again by this
// process (its server may not have bound it yet).
var Reuse = 10 * time.Minute

// rangeFile is where Linux keeps the ephemeral range.
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// EphemeralRange returns the kernel's ephemeral port range, inclusive, or
// Linux's default when it cannot be read.
func EphemeralRange() (lo, hi int) {
	b, err := os.ReadFile(rangeFile)
	if err != nil {
		return DefaultEphemeralLo, DefaultEphemeralHi
	}
	return parseRange(string(b))
}

func parseRange(s string) (lo, hi int) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return DefaultEphemeralLo, DefaultEphemeralHi
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return DefaultEphemeralLo, DefaultEphemeralHi
	}
	return lo, hi
}

// Range is the inclusive range Pick chooses from for an ephemeral range
// lo..hi: 10000..min(lo, 20000)-1 when that holds at least 1000 ports, else
// 20000..lo-1 when that does, else hi+1..65535 when that does, else the
// larger of 1024..lo-1 and hi+1..65535. ok is false when both are empty
// (the ephemeral range covers every unprivileged port).
func Range(lo, hi int) (from, to int, ok bool) {
	if top := min(lo, nomadFloor); top-preferFloor >= minSpan {
		return preferFloor, top - 1, true
	}
	if lo-lowFloor >= minSpan {
		return lowFloor, lo - 1, true
	}
	if 65535-hi >= minSpan {
		return hi + 1, 65535, true
	}
	below, above := lo-1024, 65535-hi
	switch {
	case below > 0 && below >= above:
		return 1024, lo - 1, true
	case above > 0:
		return hi + 1, 65535, true
	}
	return 0, 0, false
}

var (
	mu     sync.Mutex
	handed = map[int]time.Time{} // port → when Pick returned it
)

// attempts bounds the random tries of one Pick.
const attempts = 200

// Pick returns a TCP port outside the ephemeral range that could be
// listened on (on every address) a moment ago and that this process has
// not handed out within Reuse. When the ephemeral range leaves no room it
// falls back to asking the kernel.
func Pick() (int, error) {
	lo, hi := EphemeralRange()
	from, to, ok := Range(lo, hi)
	if !ok {
		return kernelPort()
	}
	mu.Lock()
	defer mu.Unlock()
	now := time.Now()
	for p, at := range handed {
		if now.Sub(at) > Reuse {
			delete(handed, p)
		}
	}
	for range attempts {
		p := from + rand.IntN(to-from+1)
		if _, taken := handed[p]; taken || !listenable(p) {
			continue
		}
		handed[p] = now
		return p, nil
	}
	return 0, errors.New("no free TCP port found between " + strconv.Itoa(from) + " and " + strconv.Itoa(to))
}

// listenable reports whether nothing holds port p: a listener on every
// address conflicts with one on any single address.
func listenable(p int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
