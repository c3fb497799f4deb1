package testscripts

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	commands["trackerwait"] = cmdTrackerWait
}

// cmdTrackerWait polls a URL (up to 20 s) until it answers with the status
// and a body matching a regular expression; the body becomes stdout. It is
// for state that changes while heron-tracker runs:
//
//	trackerwait http://127.0.0.1:$PORT/topologies 200 'WordCount'
func cmdTrackerWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: trackerwait URL STATUS BODY-REGEXP")
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("trackerwait: status %q is not a number", args[1])
	}
	re := regexp.MustCompile(args[2])
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for {
		resp, err := client.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp.Status + ": " + string(body)
			if resp.StatusCode == want && re.Match(body) {
				ts.Stdout().Write(body)
				return
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			ts.Fatalf("trackerwait %s: no %d answer matching %q in 20 s; last: %s", args[0], want, args[2], last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
