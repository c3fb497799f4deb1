package freeport

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// Picked ports are never in the kernel's ephemeral range (where the next
// outgoing connection could take them), never repeat, and can be listened on.
func TestPickAvoidsEphemeralRangeAndRepeats(t *testing.T) {
	lo, hi := EphemeralRange()
	seen := map[int]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				p, err := Pick()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[p] {
					t.Errorf("port %d handed out twice", p)
				}
				seen[p] = true
				mu.Unlock()
				if p >= lo && p <= hi {
					t.Errorf("port %d is in the ephemeral range %d-%d", p, lo, hi)
				}
			}
		}()
	}
	wg.Wait()
	for p := range seen {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("listen on picked port %d: %v", p, err)
		}
		l.Close()
		break
	}
}

// A port something listens on is never picked.
func TestPickSkipsPortsInUse(t *testing.T) {
	lo, hi := EphemeralRange()
	from, to, ok := Range(lo, hi)
	if !ok {
		t.Skip("no room outside the ephemeral range on this machine")
	}
	// Hold every port of a small window, then pick from just that window.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	busy := map[int]bool{}
	for p := from; p < from+20 && p <= to; p++ {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			held = append(held, l)
			busy[p] = true
		}
	}
	for p := range busy {
		if listenable(p) {
			t.Errorf("port %d is held on 127.0.0.1 but listenable reports it free", p)
		}
	}
}

func TestRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi, from, to int
		ok               bool
	}{
		{32768, 60999, 10000, 19999, true}, // Linux's default: below Nomad's dynamic ports
		{20500, 60999, 10000, 19999, true}, // still room below 20000
		{10500, 60999, 61000, 65535, true}, // too little below: above
		{10000, 65000, 1024, 9999, true},   // neither has 1000: the larger
		{1024, 65535, 0, 0, false},         // no room at all
		{49152, 65535, 10000, 19999, true}, // IANA's range
	} {
		from, to, ok := Range(c.lo, c.hi)
		if from != c.from || to != c.to || ok != c.ok {
			t.Errorf("Range(%d, %d) = %d, %d, %v; want %d, %d, %v", c.lo, c.hi, from, to, ok, c.from, c.to, c.ok)
		}
	}
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string][2]int{
		"32768\t60999\n": {32768, 60999},
		"1024 65535":     {1024, 65535},
		"":               {DefaultEphemeralLo, DefaultEphemeralHi},
		"9 x":            {DefaultEphemeralLo, DefaultEphemeralHi},
		"60000 100":      {DefaultEphemeralLo, DefaultEphemeralHi},
	} {
		if lo, hi := parseRange(in); lo != want[0] || hi != want[1] {
			t.Errorf("parseRange(%q) = %d, %d; want %v", in, lo, hi, want)
		}
	}
}
