package testscripts

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	commands["uiport"] = cmdUIPort
	commands["uiget"] = cmdUIGet
}

// cmdUIPort stores a free TCP port on 127.0.0.1 in an environment variable,
// for a daemon started in the background:
//
//	uiport PORT
func cmdUIPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: uiport VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("uiport: %v", err)
	}
	defer l.Close()
	ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}

// cmdUIGet GETs a URL, retrying while nothing listens yet (up to 20 s), and
// checks the status code and that the body matches a regular expression.
// The body becomes the script's stdout:
//
//	uiget http://127.0.0.1:$PORT/healthz 200 '^ok'
func cmdUIGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: uiget URL STATUS [BODY-REGEXP]")
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("uiget: status %q is not a number", args[1])
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(20 * time.Second)
	var resp *http.Response
	for {
		resp, err = client.Get(args[0])
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("uiget %s: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		ts.Fatalf("uiget %s: %v", args[0], err)
	}
	ts.Logf("GET %s: %s", args[0], resp.Status)
	if resp.StatusCode != want {
		ts.Fatalf("uiget %s: status %d, want %d; body:\n%s", args[0], resp.StatusCode, want, body)
	}
	if len(args) == 3 && !regexp.MustCompile(args[2]).Match(body) {
		ts.Fatalf("uiget %s: body does not match %q:\n%s", args[0], args[2], body)
	}
}
