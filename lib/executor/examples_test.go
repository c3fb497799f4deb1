package executor_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/topology"
)

// runExample compiles an example's YAML and runs it on n containers.
func runExample(t *testing.T, dir, file string, n int, env ...string) *cluster {
	t.Helper()
	src := filepath.Join("..", "..", "examples", dir)
	def, err := topology.Load(filepath.Join(src, file))
	if err != nil {
		t.Fatal(err)
	}
	topo, err := def.Compile(topology.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClusterOf(t, topo, packTopology(packComps(topo), n), n, "", src, env...)
	c.waitRunning()
	return c
}

// sumFiles adds up the second column of the files matching glob in every
// container's working directory.
func (c *cluster) sumFiles(glob string) (total int, words map[string]int) {
	words = map[string]int{}
	for shard := 1; shard <= c.n; shard++ {
		files, _ := filepath.Glob(filepath.Join(c.dir(shard), glob))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				w, v, ok := strings.Cut(l, " ")
				if !ok {
					continue
				}
				k, _ := strconv.Atoi(v)
				total += k
				words[w] += k
			}
		}
	}
	return total, words
}

func TestExampleWordCount(t *testing.T) {
	testserver.Require(t, "stdbuf")
	c := runExample(t, "wordcount", "wordcount.yaml", 2, "SENTENCES_LIMIT=200")
	// 2 spouts x 200 sentences of 6.2 words on average: 1240 words; the
	// count files are rewritten every 100 words per instance.
	err := testserver.Poll(context.Background(), 60*time.Second, func() error {
		total, words := c.sumFiles("counts-*.txt")
		if total < 1000 {
			return fmt.Errorf("%d words counted", total)
		}
		if words["the"] == 0 || words["seven"] == 0 {
			return fmt.Errorf("missing words: %v", words)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExampleExclamationJSON(t *testing.T) {
	for _, bin := range []string{"python3", "perl"} {
		if _, err := exec.LookPath(bin); err != nil {
			testserver.Missing(t, bin, "install the Debian package "+bin)
		}
	}
	c := runExample(t, "exclamation-json", "exclamation.yaml", 2, "WORDS_LIMIT=500")
	// Every message is acked in the end, with replays of the failed ones.
	err := testserver.Poll(context.Background(), 90*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(c.dir(1), "log-files", "container_1_words_1.log.0"))
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "acked 500 messages") {
			return fmt.Errorf("spout log: %q", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
