package zookeeper_test

import (
	"os"
	"testing"

	"github.com/rs/zerolog"
)

// The client's debug lines (reconnects during restart tests) would drown the
// test output; HERON_TEST_DEBUG=1 shows them.
func TestMain(m *testing.M) {
	if os.Getenv("HERON_TEST_DEBUG") == "" {
		zerolog.SetGlobalLevel(zerolog.WarnLevel)
	}
	os.Exit(m.Run())
}
