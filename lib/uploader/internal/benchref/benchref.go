// Package benchref times the reference copies that the uploader benchmarks
// compare against: cp of a file on the local disk, and the same bytes sent
// over a raw TCP socket on loopback (the most any network uploader could do
// here). The benchmarks report their throughput as a ratio to these.
package benchref

import (
	"crypto/rand"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// File writes size random bytes (incompressible, like a .tar.gz) into a temp
// file and returns its path.
func File(b testing.TB, size int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "topology.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, int64(size)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// Cp times `cp src <temp>` and removes the copy.
func Cp(b testing.TB, src string) time.Duration {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "copy")
	start := time.Now()
	if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v: %s", err, out)
	}
	d := time.Since(start)
	os.Remove(dst)
	return d
}

// Socket times sending src over a fresh loopback TCP connection to a reader
// that writes it to a file in a temp dir, as a server would.
func Socket(b testing.TB, src string) time.Duration {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	dst := filepath.Join(b.TempDir(), "received")
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		f, err := os.Create(dst)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(c, f); err != nil {
		b.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	os.Remove(dst)
	return d
}

// Report adds, for each reference, the ratio of the uploader's throughput to
// the reference's (1 = as fast; 0.5 = half as fast).
func Report(b *testing.B, ours time.Duration, refs map[string]time.Duration) {
	for name, d := range refs {
		if ours > 0 {
			b.ReportMetric(float64(d)/float64(ours), "x-"+name)
		}
	}
}
