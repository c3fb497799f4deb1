package sftp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/uploader/internal/benchref"
)

// BenchmarkUpload uploads a 64 MiB package to a real sshd and reports its
// throughput as ratios to OpenSSH's scp of the same file to the same server
// (x-scp), to a raw loopback socket copy (x-socket) and to a local cp (x-cp).
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	s := testserver.StartSSHD(b)
	tg, err := ParseTarget(s.User+"@"+testserver.Host, "-P "+strconv.Itoa(s.Port)+" -i "+s.ClientKey+
		" -o UserKnownHostsFile="+s.KnownHosts+" -o IdentitiesOnly=yes", "", "")
	if err != nil {
		b.Fatal(err)
	}
	src := benchref.File(b, size)
	dst := filepath.Join(s.Root, "bench.tar.gz")
	scp, _ := exec.LookPath("scp")
	var ours time.Duration
	refs := map[string]time.Duration{}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := put(context.Background(), tg, src, dst, nil); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		b.StopTimer()
		os.Remove(dst)
		if scp != "" {
			start = time.Now()
			out, err := exec.Command(scp, "-q", "-P", strconv.Itoa(s.Port), "-i", s.ClientKey,
				"-o", "UserKnownHostsFile="+s.KnownHosts, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
				src, s.User+"@"+testserver.Host+":"+dst).CombinedOutput()
			if err != nil {
				b.Fatalf("scp: %v: %s", err, out)
			}
			refs["scp"] += time.Since(start)
			os.Remove(dst)
		}
		refs["socket"] += benchref.Socket(b, src)
		refs["cp"] += benchref.Cp(b, src)
		b.StartTimer()
	}
	b.StopTimer()
	benchref.Report(b, ours, refs)
}
