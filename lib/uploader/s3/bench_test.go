package s3

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/heronkit/heronkit/lib/uploader/internal/benchref"
)

// BenchmarkUpload uploads a 64 MiB package to a real MinIO (multipart) and
// reports its throughput as ratios to a raw loopback socket copy (x-socket)
// and to a local cp (x-cp) of the same file.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	m := startBench(b)
	s := Settings{Bucket: "bench", Endpoint: m.URL(), Region: "us-east-1", AccessKey: m.AccessKey, SecretKey: m.SecretKey}
	c, _, err := s.client()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, s.Bucket, makeBucketOpts); err != nil {
		b.Fatal(err)
	}
	src := benchref.File(b, size)
	key := ObjectKey("", "Bench")
	var ours time.Duration
	refs := map[string]time.Duration{}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := put(ctx, c, key, s.Bucket, key, src, nil); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		b.StopTimer()
		// Measure the transfer alone: no previous version to back up next time.
		if err := c.RemoveObject(ctx, s.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		refs["socket"] += benchref.Socket(b, src)
		refs["cp"] += benchref.Cp(b, src)
		b.StartTimer()
	}
	b.StopTimer()
	benchref.Report(b, ours, refs)
}
