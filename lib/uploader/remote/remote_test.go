package remote_test

import (
	"slices"
	"testing"

	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/remote"
)

func TestRegistered(t *testing.T) {
	for _, n := range []string{"scp", "s3", "hdfs"} {
		if !slices.Contains(uploader.Names(), n) {
			t.Errorf("uploader %s not registered (have %v)", n, uploader.Names())
		}
	}
	for _, s := range []string{"sftp", "scp", "s3", "hdfs"} {
		if !slices.Contains(uploader.Schemes(), s) {
			t.Errorf("scheme %s not registered (have %v)", s, uploader.Schemes())
		}
	}
}
